// Prometheus metrics of the outbox and relay: pending rows and the oldest one's age (read from the
// database at scrape time), publishes and publish errors, how long events waited to go out and how
// long the bus took to acknowledge them; on Kafka also each consumer group's lag.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventBus } from '../infra/bus/bus.js';
import type { OutboxRepository } from './outbox.repository.js';

export interface RelayMetrics {
  published: Counter<'topic'>;
  errors: Counter;
  lag: Histogram;
  publishDuration: Histogram<'bus'>;
}

export function registerOutboxMetrics(registry: Registry, repo: OutboxRepository, bus: EventBus): RelayMetrics {
  // One query serves both gauges of a scrape.
  let cached: { at: number; value: Promise<{ pending: number; oldestCreatedAt: string | null }> } | null = null;
  const stats = () => {
    if (!cached || Date.now() - cached.at > 500) cached = { at: Date.now(), value: repo.pendingStats() };
    return cached.value;
  };
  new Gauge({
    name: 'nova_outbox_pending_events',
    help: 'Outbox events not yet delivered to the bus.',
    registers: [registry],
    async collect() {
      try {
        this.set((await stats()).pending);
      } catch {
        // Database unreachable: keep the last value; /readyz reports the database.
      }
    },
  });
  new Gauge({
    name: 'nova_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered outbox event (0 when none is pending).',
    registers: [registry],
    async collect() {
      try {
        const oldest = (await stats()).oldestCreatedAt;
        this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
      } catch {
        // as above
      }
    },
  });
  if (bus.consumerLag) {
    const read = bus.consumerLag.bind(bus);
    new Gauge({
      name: 'nova_kafka_consumer_lag',
      help: "Records on the group's topics that the consumer group (of a consumer in this process) has not committed yet.",
      labelNames: ['group'],
      registers: [registry],
      async collect() {
        try {
          const lags = await read();
          this.reset();
          for (const { group, lag } of lags) this.set({ group }, lag);
        } catch {
          // Broker unreachable: no value rather than a stale one; /readyz reports Kafka.
          this.reset();
        }
      },
    });
  }
  return {
    publishDuration: new Histogram({
      name: 'nova_outbox_publish_duration_seconds',
      help: 'One relay publish, from handing a batch to the bus until it acknowledged every event (Kafka: acks=all).',
      labelNames: ['bus'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    published: new Counter({ name: 'nova_outbox_published_total', help: 'Events the relay published to the bus, by topic.', labelNames: ['topic'], registers: [registry] }),
    errors: new Counter({ name: 'nova_outbox_publish_errors_total', help: 'Relay rounds that failed (bus or database unavailable).', registers: [registry] }),
    lag: new Histogram({
      name: 'nova_outbox_delivery_lag_seconds',
      help: 'Time from an event being committed to the outbox to the bus accepting it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}
