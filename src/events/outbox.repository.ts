// The transactional outbox. appendEvent writes an event in the caller's transaction, so an event
// exists exactly when the change it describes was committed; OutboxRepository is the relay's side:
// claim pending rows (per-key order, one relay per row), mark them delivered or release them, prune.
import { EventEmitter } from 'node:events';
import { sql, type Generated } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Executor } from '../infra/db/database.js';
import { TOPIC_OF, type EventEnvelope, type EventMap, type EventType } from './events.types.js';

export interface OutboxTable {
  seq: Generated<number>;
  event_id: string;
  topic: string;
  event_key: string;
  event_type: string;
  payload: string;
  created_at: string;
  delivered_at: string | null;
  attempts: Generated<number>;
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
 * Emits 'appended' whenever appendEvent ran in this process, so a local relay looks for the new
 * row at once instead of at its next poll. Relays of other processes find it at their next poll:
 * there is deliberately no NOTIFY on Postgres (see migration 0004: notifying commits are
 * serialized cluster-wide, which cost a third of write throughput).
 */
export const outboxSignal = new EventEmitter();
outboxSignal.setMaxListeners(0);

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
  outboxSignal.emit('appended');
  return envelope;
}

export interface OutboxRow {
  seq: number;
  event_id: string;
  topic: string;
  event_key: string;
  event_type: string;
  payload: string;
  created_at: string;
  attempts: number;
}

export class OutboxRepository {
  constructor(private readonly db: Db) {}

  /**
   * Claims up to `limit` of the oldest unclaimed pending rows for `relayId` until `leaseUntil`.
   * A row is left out while an earlier row of its (topic, key) is pending outside this claim
   * (another relay holds it, is claiming it right now, or it failed and waits), so one key is
   * never published out of order. Per key, `first_outside` is the earliest such row: found with
   * one index probe per key and a hashed NOT IN. A head row is ready when no such row of its key
   * comes before it: a running max over head and those rows, sorted per key, so a claim costs
   * O(batch log batch). (Joining head to the per-key rows instead made SQLite compare every pair,
   * O(batch × keys): 17 µs of a claim's 25 µs per row at 160 rows of 160 keys, against 7 µs now.)
   * Rows still claimed by `relayId` itself do not hold their keys back: the caller publishes
   * them, in order, before anything this claim returns (so a relay can claim its next batch while
   * the previous one is being published and marked); a relay that failed claims under a new id.
   * Postgres: SKIP LOCKED lets several relays claim disjoint batches at once. SQLite: one
   * statement is atomic and one process writes, so the conditional update suffices.
   */
  async claim(relayId: string, limit: number, nowIso: string, leaseUntilIso: string): Promise<OutboxRow[]> {
    const statement = this.claimStatement(relayId, limit, nowIso, leaseUntilIso);
    const rows = this.db.oneTrip
      ? // The head must walk the pending index in seq order and stop after `limit` rows. Postgres's
        // statistics often say the outbox has almost nothing pending (most rows are delivered when
        // it analyzes), and a backlog is exactly when that is wrong: it would then read every
        // pending row into a bitmap and sort them, on each claim. Bitmap scans are off for this one
        // statement. Its commit does not wait for the WAL flush: a claim lost in a database crash
        // only lets its rows be published again (at-least-once), and it is on the relay's critical
        // path, where a flush queued behind every writer's commit cost more than the statement.
        // Settings and claim go in one round trip (no BEGIN or COMMIT of their own): on a loaded
        // machine each round trip waits for both processes to be scheduled.
        //
        // The claim is a prepared statement with a generic plan: planning it took about 1 ms, as
        // long as running it for 100 rows, and under steady writes a claim finds tens of rows.
        await this.db.oneTrip<OutboxRow>([
          sql`SELECT set_config('enable_bitmapscan', 'off', true), set_config('synchronous_commit', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`.compile(this.db.kysely),
          { name: 'nova_outbox_claim', query: statement.compile(this.db.kysely) },
        ])
      : (await statement.execute(this.db.kysely)).rows;
    return rows.map((r) => ({ ...r, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
  }

  private claimStatement(relayId: string, limit: number, nowIso: string, leaseUntilIso: string) {
    const pg = this.db.dialect === 'postgres';
    const lock = pg ? sql`FOR UPDATE SKIP LOCKED` : sql``;
    return sql<OutboxRow>`
      WITH head AS (
        SELECT seq, topic, event_key FROM outbox
        WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < ${nowIso})
        ORDER BY seq LIMIT ${limit} ${lock}
      ), outside AS MATERIALIZED (
        SELECT k.topic, k.event_key, (
          SELECT min(e.seq) FROM outbox e
          WHERE e.delivered_at IS NULL AND e.topic = k.topic AND e.event_key = k.event_key
            AND e.seq NOT IN (SELECT seq FROM head)
            AND (e.claimed_by IS NULL OR e.claimed_by <> ${relayId} OR e.claimed_until < ${nowIso})
        ) AS first_outside
        FROM (SELECT DISTINCT topic, event_key FROM head) k
      ), ready AS (
        SELECT seq FROM (
          SELECT seq, held, max(held) OVER (PARTITION BY topic, event_key ORDER BY seq ROWS UNBOUNDED PRECEDING) AS blocked
          FROM (
            SELECT seq, topic, event_key, 0 AS held FROM head
            UNION ALL
            SELECT first_outside, topic, event_key, 1 FROM outside WHERE first_outside IS NOT NULL
          ) u
        ) w
        WHERE held = 0 AND blocked = 0
      )
      UPDATE outbox SET claimed_by = ${relayId}, claimed_until = ${leaseUntilIso}, attempts = attempts + 1
      WHERE seq IN (SELECT seq FROM ready)
      RETURNING seq, event_id, topic, event_key, event_type, payload, created_at, attempts`;
  }

  /**
   * On Postgres the mark's commit does not wait for the WAL flush either: the relay publishes its
   * next batch only once the previous mark has landed, so a flush stuck behind other writers' I/O
   * stalled it; a mark lost in a database crash only means its rows go out again (at-least-once).
   */
  async markDelivered(relayId: string, seqs: number[], nowIso: string): Promise<void> {
    if (seqs.length === 0) return;
    const mark = this.db.kysely.updateTable('outbox').set({ delivered_at: nowIso, claimed_by: null, claimed_until: null, last_error: null }).where(this.seqIn(seqs)).where('claimed_by', '=', relayId);
    if (this.db.oneTrip) await this.db.oneTrip([sql`SELECT set_config('synchronous_commit', 'off', true)`.compile(this.db.kysely), { name: 'nova_outbox_mark', query: mark.compile() }]);
    else await mark.execute();
  }

  /** `seq IN (…)`; one array parameter on Postgres instead of hundreds of bind parameters. */
  private seqIn(seqs: number[]) {
    return this.db.dialect === 'postgres' ? sql<boolean>`seq = ANY(${seqs}::bigint[])` : sql<boolean>`seq IN (${sql.join(seqs)})`;
  }

  /** Gives claimed rows back after a failed publish; they stay first in line. */
  async release(relayId: string, seqs: number[], error: string): Promise<void> {
    if (seqs.length === 0) return;
    await this.db.kysely
      .updateTable('outbox')
      .set({ claimed_by: null, claimed_until: null, last_error: error.slice(0, 500) })
      .where(this.seqIn(seqs))
      .where('claimed_by', '=', relayId)
      .execute();
  }

  /** Gives back rows claimed ahead but never sent: no attempt is counted and no error recorded. */
  async unclaim(relayId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.db.kysely
      .updateTable('outbox')
      .set((eb) => ({ claimed_by: null, claimed_until: null, attempts: eb('attempts', '-', 1) }))
      .where(this.seqIn(seqs))
      .where('claimed_by', '=', relayId)
      .execute();
  }

  /** Deletes delivered rows older than the cutoff, in chunks; returns how many went. */
  async pruneDelivered(cutoffIso: string, chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.db.kysely
        .deleteFrom('outbox')
        .where('seq', 'in', (qb) => qb.selectFrom('outbox').select('seq').where('delivered_at', '<', cutoffIso).limit(chunk))
        .executeTakeFirst();
      const n = Number(res.numDeletedRows);
      total += n;
      if (n < chunk) return total;
    }
  }

  async pendingStats(): Promise<{ pending: number; oldestCreatedAt: string | null }> {
    const row = await this.db.kysely
      .selectFrom('outbox')
      .select((eb) => [eb.fn.countAll<number>().as('pending'), eb.fn.min('created_at').as('oldest')])
      .where('delivered_at', 'is', null)
      .executeTakeFirst();
    return { pending: Number(row?.pending ?? 0), oldestCreatedAt: (row?.oldest as string | null) ?? null };
  }
}
