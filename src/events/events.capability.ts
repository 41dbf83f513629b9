// The events capability: runs the outbox relay (in `nova serve` and `nova worker` alike: any
// number of relays is safe), prunes delivered events and old dedupe records, exports the relay's
// metrics and puts the broker on /readyz when Kafka is configured. Consumers subscribe with
// consumeEvents(c.bus, c.db, …) when their capability is created, before any relay starts.
import type { Capability } from '../capability.js';
import type { Container } from '../container.js';
import { pruneProcessedEvents } from './events.consumer.js';
import { registerOutboxMetrics } from './events.metrics.js';
import { OutboxRelay } from './outbox.relay.js';
import { OutboxRepository } from './outbox.repository.js';

const PRUNE_EVERY_MS = 60_000;

export function eventsCapability(c: Container): Capability {
  const repo = new OutboxRepository(c.db);
  const metrics = registerOutboxMetrics(c.metrics, repo, c.bus);
  const log = c.logger.child({ component: 'outbox-relay' });
  const e = c.config.events;
  const relay = new OutboxRelay(
    c.db,
    c.bus,
    {
      batchSize: e.batchSize,
      pollIntervalMs: e.pollIntervalMs,
      leaseMs: e.leaseSeconds * 1000,
      backoffMinMs: e.backoffMinMs,
      backoffMaxMs: e.backoffMaxMs,
      lingerMs: e.lingerMs,
    },
    log,
    metrics,
  );
  if (c.config.kafkaBrokers) c.readiness.push({ name: 'kafka', check: () => c.bus.ping() });

  let pruneTimer: NodeJS.Timeout | null = null;
  const prune = async (): Promise<void> => {
    const cutoff = new Date(Date.now() - c.config.outboxRetentionSeconds * 1000).toISOString();
    try {
      const events = await repo.pruneDelivered(cutoff);
      const dedupe = await pruneProcessedEvents(c.db, cutoff);
      if (events || dedupe) log.debug({ events, dedupe }, 'pruned delivered events');
    } catch (err) {
      log.warn({ err }, 'pruning the outbox failed; will retry');
    }
  };

  return {
    name: 'events',
    async start() {
      relay.start();
      pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
      pruneTimer.unref();
    },
    async stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      await relay.stop();
    },
  };
}
