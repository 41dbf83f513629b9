// Read-only questions other capabilities ask of the event log (the outbox and what each consumer
// processed), so that only this capability writes SQL against those tables: trending replays the
// engagement events it had applied, webhooks finds the last event of a kind about an entity.
import type { Db, Executor } from '../infra/db/database.js';
import './events.consumer.js';
import './outbox.repository.js';
import { TOPIC_OF, type EventEnvelope, type EventType } from './events.types.js';

/**
 * Payloads of the events of these types created since `sinceIso` that `consumer` processed, in
 * publish order, after `afterSeq` (the `seq` of the last one a previous page returned).
 */
export async function processedEventPayloads(db: Db, consumer: string, types: readonly string[], sinceIso: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; payload: string }>> {
  const rows = await db.kysely
    .selectFrom('outbox as o')
    .innerJoin('processed_events as p', (j) => j.onRef('p.event_id', '=', 'o.event_id').on('p.consumer', '=', consumer))
    .select(['o.seq', 'o.payload'])
    .where('o.event_type', 'in', [...types])
    .where('o.created_at', '>=', sinceIso)
    .where('o.seq', '>', afterSeq)
    .orderBy('o.seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), payload: r.payload }));
}

/**
 * The newest event of this type about `key` (the entity its events are ordered by: a stream or
 * video id) still in the outbox, or null. Reads in the caller's transaction when given one.
 */
export async function latestEvent<K extends EventType>(db: Executor, type: K, key: string): Promise<EventEnvelope<K> | null> {
  const row = await db
    .selectFrom('outbox')
    .select('payload')
    .where('topic', '=', TOPIC_OF[type])
    .where('event_key', '=', key)
    .where('event_type', '=', type)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? (JSON.parse(row.payload) as EventEnvelope<K>) : null;
}
