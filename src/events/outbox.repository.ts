// Writes events into the outbox inside the caller's transaction, so an event exists exactly
// when the change it describes was committed. The relay (events/relay) publishes them later.
import { v7 as uuidv7 } from 'uuid';
import type { Executor } from '../infra/db/database.js';
import { TOPIC_OF, type EventEnvelope, type EventMap, type EventType } from './events.types.js';

export interface OutboxTable {
  seq: import('kysely').Generated<number>;
  event_id: string;
  topic: string;
  event_key: string;
  event_type: string;
  payload: string;
  created_at: string;
  delivered_at: string | null;
  attempts: import('kysely').Generated<number>;
  claimed_by: string | null;
  claimed_until: string | null;
  last_error: string | null;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    outbox: OutboxTable;
  }
}

/**
 * Records one event in the outbox. `key` orders events per entity (stream or video id).
 * Call it with the same transaction as the state change it describes.
 */
export async function appendEvent<K extends EventType>(db: Executor, type: K, key: string, payload: EventMap[K]): Promise<EventEnvelope<K>> {
  const now = new Date().toISOString();
  const envelope = { ...payload, event_id: uuidv7(), event_type: type, schema_version: 1 as const, occurred_at: now } as EventEnvelope<K>;
  await db
    .insertInto('outbox')
    .values({
      event_id: envelope.event_id,
      topic: TOPIC_OF[type],
      event_key: key,
      event_type: type,
      payload: JSON.stringify(envelope),
      created_at: now,
      delivered_at: null,
      claimed_by: null,
      claimed_until: null,
      last_error: null,
    })
    .execute();
  return envelope;
}
