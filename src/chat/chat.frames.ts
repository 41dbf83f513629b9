// Server-to-client WebSocket frames built once and shared. `ws` frames and encodes each send()
// separately, so a broadcast to N sockets costs N UTF-8 encodings and N header allocations; a
// pre-built frame is one Buffer written as-is to every socket, and frames queued in the same tick
// are concatenated into one write (one syscall per socket instead of one per message).
// Framing is RFC 6455 §5.2 for an unmasked, unfragmented text frame (servers never mask).
import type { ChatMessage } from './chat.types.js';

export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  let header: Buffer;
  if (n < 126) {
    header = Buffer.allocUnsafe(2);
    header[1] = n;
  } else if (n < 65536) {
    header = Buffer.allocUnsafe(4);
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header = Buffer.allocUnsafe(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  header[0] = 0x81; // FIN + opcode 1 (text)
  return Buffer.concat([header, payload], header.length + n);
}

/** One server event as a ready-to-write frame. */
export function eventFrame<T extends { event_type: string }>(event: T): Buffer {
  return textFrame(Buffer.from(JSON.stringify(event), 'utf8'));
}

export function messageEvent(m: ChatMessage): { event_type: 'chat.message' } & ChatMessage {
  return {
    event_type: 'chat.message',
    stream_id: m.stream_id,
    user_id: m.user_id,
    username: m.username,
    message: m.message,
    created_at: m.created_at,
    comment_id: m.comment_id,
  };
}

export function historyFrame(messages: ChatMessage[]): Buffer {
  return eventFrame({
    event_type: 'chat.history',
    messages: messages.map(({ stream_id, user_id, username, message, created_at, comment_id }) => ({ stream_id, user_id, username, message, created_at, comment_id })),
  });
}
