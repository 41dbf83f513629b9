// The relay's claim on the real Postgres costs one round trip: its planner and commit settings and
// the claim itself go in one message (Db.oneTrip), with no BEGIN or COMMIT of their own, and those
// settings end with it. Values are inlined as quoted literals, which must survive any string.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { appendEvent, OutboxRepository } from '../src/events/outbox.repository.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';

/** Runs fn and returns how many queries node-postgres sent meanwhile (one per round trip). */
async function countQueries(fn: () => Promise<unknown>): Promise<number> {
  const original = pg.Client.prototype.query;
  let n = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    n++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = original;
  }
  return n;
}

describe('outbox claim on Postgres', async () => {
  const reason = await postgresSkipReason();
  let tdb: TestDatabase;
  let db: Db;
  before(async () => {
    if (reason) return;
    tdb = await createTestDatabase();
    // One connection: a setting that outlived the claim would show on the next query.
    db = openDatabase({ databaseUrl: tdb.url, sqlitePath: ':memory:', poolSize: 1 });
    await migrateToLatest(db);
  });
  after(async () => {
    if (reason) return;
    await db.close();
    await tdb.drop();
  });

  it('claims in one round trip; its settings end with it', { skip: reason }, async () => {
    for (let i = 0; i < 5; i++) {
      await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.progress', `k-${i % 2}`, { video_id: `k-${i % 2}`, owner_id: 'o', stage: 'transcode', progress: i, timestamp: new Date().toISOString() }));
    }
    const repo = new OutboxRepository(db);
    const now = Date.now();
    let rows: Awaited<ReturnType<OutboxRepository['claim']>> = [];
    const queries = await countQueries(async () => {
      rows = await repo.claim("relay-'quoted'\\", 10, new Date(now).toISOString(), new Date(now + 60_000).toISOString());
    });
    assert.equal(queries, 1, 'the claim is a single round trip');
    assert.deepEqual(
      rows.map((r) => r.seq),
      [...rows.map((r) => r.seq)].sort((a, b) => a - b),
    );
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => typeof r.seq === 'number' && r.attempts === 1 && !Number.isNaN(Date.parse(r.created_at))));
    const claimed = await db.kysely.selectFrom('outbox').select(['claimed_by', 'claimed_until']).execute();
    assert.ok(claimed.every((r) => r.claimed_by === "relay-'quoted'\\" && Date.parse(r.claimed_until!) === now + 60_000));
    const settings = await sql<{ b: string; s: string }>`SELECT current_setting('enable_bitmapscan') AS b, current_setting('synchronous_commit') AS s`.execute(db.kysely);
    assert.deepEqual(settings.rows[0], { b: 'on', s: 'on' });
    // Claimed rows are not claimed again while their lease runs.
    assert.deepEqual(await repo.claim('other', 10, new Date(now + 1).toISOString(), new Date(now + 60_000).toISOString()), []);
  });

  it('a statement that fails rolls back the whole trip', { skip: reason }, async () => {
    await assert.rejects(db.oneTrip!([sql`UPDATE outbox SET last_error = ${'x'}`, sql`SELECT 1 / ${0} AS boom`]));
    const rows = await db.kysely.selectFrom('outbox').select('last_error').execute();
    assert.ok(rows.length > 0 && rows.every((r) => r.last_error === null));
  });
});
