// Chat's Prometheus metrics, registered on the process registry served at /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ChatMetrics {
  sockets: Gauge;
  accepted: Counter;
  rejected: Counter<'code'>;
  dropped: Counter<'reason'>;
}

export function createChatMetrics(registry: Registry): ChatMetrics {
  return {
    sockets: new Gauge({ name: 'nova_chat_sockets', help: 'Open chat WebSockets in this process.', registers: [registry] }),
    accepted: new Counter({ name: 'nova_chat_messages_total', help: 'Chat messages accepted and stored by this process.', registers: [registry] }),
    rejected: new Counter({ name: 'nova_chat_rejected_total', help: 'Chat frames refused, by chat.error code.', labelNames: ['code'], registers: [registry] }),
    dropped: new Counter({
      name: 'nova_chat_dropped_total',
      help: 'Chat sockets dropped by the server: slow (send buffer over the cap) or dead (no pong).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
