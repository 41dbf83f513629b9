// In-Nova consumers of the bus (webhooks, trending, …) subscribe here. Delivery is at least once,
// so each consumer records the event_ids it processed in processed_events, in the same transaction
// as its own effects: a repeated event (relay retry, Kafka rebalance) is skipped, and a crash
// between the two cannot happen because they commit together.
import type { Transaction } from 'kysely';
import type { EventBus, ReceivedMessage, Subscription } from '../infra/bus/bus.js';
import type { Db } from '../infra/db/database.js';
import type { Tables } from '../infra/db/schema.js';
import type { Logger } from '../infra/logger.js';
import type { EventEnvelope, Topic } from './events.types.js';

export interface ProcessedEventTable {
  consumer: string;
  event_id: string;
  processed_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    processed_events: ProcessedEventTable;
  }
}

export interface EventConsumer {
  /** Consumer-group name; also the dedupe namespace in processed_events. */
  name: string;
  topics: Topic[];
  /** Only these event types are handled (and recorded); others on the topics are skipped. */
  types?: readonly string[];
  /** Applies the events (not seen before by this consumer, in bus order) inside `trx`. */
  handle(trx: Transaction<Tables>, events: EventEnvelope[]): Promise<void>;
  /** Runs after the commit with the same events: for in-memory effects and wake-ups. */
  afterCommit?(events: EventEnvelope[]): void | Promise<void>;
}

const CHUNK = 500;

function parse(messages: ReceivedMessage[], logger: Logger): EventEnvelope[] {
  const seen = new Set<string>();
  const out: EventEnvelope[] = [];
  for (const m of messages) {
    let env: EventEnvelope;
    try {
      env = JSON.parse(m.value) as EventEnvelope;
    } catch {
      // Nova only publishes JSON; anything else can never be processed, so it is skipped, not retried.
      logger.warn({ topic: m.topic, key: m.key }, 'skipping a bus message that is not JSON');
      continue;
    }
    if (typeof env?.event_id !== 'string' || typeof env.event_type !== 'string') {
      logger.warn({ topic: m.topic, key: m.key }, 'skipping a bus message without event_id/event_type');
      continue;
    }
    // A batch may hold the same event twice (republished after a lost acknowledgement).
    if (seen.has(env.event_id)) continue;
    seen.add(env.event_id);
    out.push(env);
  }
  return out;
}

/** Subscribes `consumer` to the bus with idempotent handling by event_id. */
export function consumeEvents(bus: EventBus, db: Db, consumer: EventConsumer, logger: Logger): Subscription {
  const log = logger.child({ consumer: consumer.name });
  const types = consumer.types ? new Set(consumer.types) : null;
  return bus.subscribe(consumer.topics, consumer.name, async (messages) => {
    const events = parse(messages, log).filter((e) => !types || types.has(e.event_type));
    if (events.length === 0) return;
    const fresh = await db.kysely.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      const inserted = new Set<string>();
      for (let i = 0; i < events.length; i += CHUNK) {
        const rows = await trx
          .insertInto('processed_events')
          .values(events.slice(i, i + CHUNK).map((e) => ({ consumer: consumer.name, event_id: e.event_id, processed_at: now })))
          .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
          .returning('event_id')
          .execute();
        for (const r of rows) inserted.add(r.event_id);
      }
      const unseen = events.filter((e) => inserted.has(e.event_id));
      if (unseen.length) await consumer.handle(trx, unseen);
      return unseen;
    });
    if (fresh.length && consumer.afterCommit) await consumer.afterCommit(fresh);
  });
}

/**
 * Forgets processed event ids older than the cutoff (the dedupe window is the outbox retention).
 * Run every minute, so one statement only ever deletes about a minute's worth of rows.
 */
export async function pruneProcessedEvents(db: Db, cutoffIso: string): Promise<number> {
  const res = await db.kysely.deleteFrom('processed_events').where('processed_at', '<', cutoffIso).executeTakeFirst();
  return Number(res.numDeletedRows);
}
