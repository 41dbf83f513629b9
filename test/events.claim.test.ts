// The relay's claim on the real Postgres costs one round trip: its planner and commit settings and
// the claim itself go in one message (Db.oneTrip), with no BEGIN or COMMIT of their own, and those
// settings end with it; marking delivered commits without waiting for the WAL flush too (a trigger
// records the settings each statement ran with). Values are inlined as quoted literals.
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
      await db.kysely
        .transaction()
        .execute((trx) => appendEvent(trx, 'video.progress', `k-${i % 2}`, { video_id: `k-${i % 2}`, owner_id: 'o', stage: 'transcode', progress: i, timestamp: new Date().toISOString() }));
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
    const settings = await sql<{
      b: string;
      s: string;
      p: string;
    }>`SELECT current_setting('enable_bitmapscan') AS b, current_setting('synchronous_commit') AS s, current_setting('plan_cache_mode') AS p`.execute(db.kysely);
    assert.deepEqual(settings.rows[0], { b: 'on', s: 'on', p: 'auto' });
    // Claimed rows are not claimed again while their lease runs.
    assert.deepEqual(await repo.claim('other', 10, new Date(now + 1).toISOString(), new Date(now + 60_000).toISOString()), []);
  });

  it('claims and marks run with their own settings: no bitmap scan for the claim, no flush wait for either', { skip: reason }, async () => {
    await sql
      .raw(
        `CREATE TABLE seen (op text, bitmap text, sync text);
         CREATE FUNCTION record_settings() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           INSERT INTO seen VALUES (CASE WHEN NEW.delivered_at IS NULL THEN 'claim' ELSE 'mark' END,
             current_setting('enable_bitmapscan'), current_setting('synchronous_commit'));
           RETURN NEW; END $$;
         CREATE TRIGGER record_settings AFTER UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION record_settings()`,
      )
      .execute(db.kysely);
    try {
      await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.progress', 'm', { video_id: 'm', owner_id: 'o', stage: 'transcode', progress: 1, timestamp: new Date().toISOString() }));
      const repo = new OutboxRepository(db);
      const now = Date.now() + 120_000; // after the first test's leases
      const rows = await repo.claim('relay-m', 10, new Date(now).toISOString(), new Date(now + 60_000).toISOString());
      assert.ok(rows.length >= 1);
      const queries = await countQueries(() =>
        repo.markDelivered(
          'relay-m',
          rows.map((r) => r.seq),
          new Date(now).toISOString(),
        ),
      );
      assert.equal(queries, 1, 'the mark is a single round trip');
      const seen = await sql<{ op: string; bitmap: string; sync: string }>`SELECT DISTINCT op, bitmap, sync FROM seen ORDER BY op`.execute(db.kysely);
      assert.deepEqual(seen.rows, [
        { op: 'claim', bitmap: 'off', sync: 'off' },
        { op: 'mark', bitmap: 'on', sync: 'off' },
      ]);
      const left = await db.kysely.selectFrom('outbox').select('seq').where('claimed_by', '=', 'relay-m').where('delivered_at', 'is', null).execute();
      assert.deepEqual(left, []);
    } finally {
      await sql.raw('DROP TRIGGER record_settings ON outbox; DROP FUNCTION record_settings(); DROP TABLE seen').execute(db.kysely);
    }
  });

  it('the claim is prepared once per connection and then only executed, with a generic plan', { skip: reason }, async () => {
    const repo = new OutboxRepository(db);
    const at = Date.now() + 600_000; // after every earlier lease
    for (let i = 0; i < 3; i++) await repo.claim('relay-p', 10, new Date(at + i).toISOString(), new Date(at + 60_000).toISOString());
    const prepared = await sql<{ name: string; generic_plans: number; custom_plans: number }>`
      SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'nova_outbox_claim'`.execute(db.kysely);
    assert.equal(prepared.rows.length, 1);
    assert.equal(Number(prepared.rows[0].custom_plans), 0, 'never planned for its parameters');
    assert.ok(Number(prepared.rows[0].generic_plans) >= 3, 'planned once, its plan reused');
  });

  it('falls back to plain statements when prepared ones vanish or collide (a pooler in transaction mode)', { skip: reason }, async () => {
    const event = (key: string) =>
      db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.progress', key, { video_id: key, owner_id: 'o', stage: 'transcode', progress: 1, timestamp: new Date().toISOString() }));
    const at = Date.now() + 1_200_000;
    for (const [i, spoil] of ['DEALLOCATE ALL', 'PREPARE nova_outbox_claim AS SELECT 1'].entries()) {
      const own = openDatabase({ databaseUrl: tdb.url, sqlitePath: ':memory:', poolSize: 1 });
      try {
        const repo = new OutboxRepository(own);
        if (i === 0) await repo.claim('warm', 1, new Date(at).toISOString(), new Date(at).toISOString()); // prepares it
        await sql.raw(spoil).execute(own.kysely); // the statement is gone, or another of that name is there
        await event(`fb-${i}`);
        const rows = await repo.claim(`relay-fb-${i}`, 10, new Date(at + i).toISOString(), new Date(at + 60_000).toISOString());
        assert.deepEqual(
          rows.map((r) => r.event_key),
          [`fb-${i}`],
        );
        await repo.markDelivered(
          `relay-fb-${i}`,
          rows.map((r) => r.seq),
          new Date(at).toISOString(),
        );
        const left = await own.kysely.selectFrom('outbox').select('seq').where('event_key', '=', `fb-${i}`).where('delivered_at', 'is', null).execute();
        assert.deepEqual(left, []);
      } finally {
        await own.close();
      }
    }
  });

  it('a statement that fails rolls back the whole trip', { skip: reason }, async () => {
    await assert.rejects(db.oneTrip!([sql`UPDATE outbox SET last_error = ${'x'}`.compile(db.kysely), sql`SELECT 1 / ${0} AS boom`.compile(db.kysely)]));
    const rows = await db.kysely.selectFrom('outbox').select('last_error').execute();
    assert.ok(rows.length > 0 && rows.every((r) => r.last_error === null));
  });
});

// Which rows one claim takes when other claims hold some keys: a key's rows after a row another
// relay holds wait; its rows before that row, rows this relay still holds, and expired claims do not
// hold anything back. The same on both databases.
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`outbox claim per key (${dialect})`, async () => {
    const reason = dialect === 'postgres' ? await postgresSkipReason() : undefined;
    let tdb: TestDatabase | undefined;
    let db: Db;
    before(async () => {
      if (reason) return;
      if (dialect === 'postgres') tdb = await createTestDatabase();
      db = openDatabase(tdb ? { databaseUrl: tdb.url, sqlitePath: ':memory:' } : { sqlitePath: ':memory:' });
      await migrateToLatest(db);
    });
    after(async () => {
      if (reason) return;
      await db.close();
      await tdb?.drop();
    });

    it('takes each key up to its first row held elsewhere, in seq order', { skip: reason }, async () => {
      const payload = { video_id: 'v', owner_id: 'o', stage: 'transcode' as const, progress: 1, timestamp: new Date().toISOString() };
      const seqOf = new Map<string, number>();
      for (const name of ['a1', 'b1', 'b2', 'c0', 'c1', 'b3', 'd1', 'a2', 'd2']) {
        const e = await appendEvent(db.kysely, 'video.progress', name[0], payload);
        const row = await db.kysely.selectFrom('outbox').select('seq').where('event_id', '=', e.event_id).executeTakeFirstOrThrow();
        seqOf.set(name, Number(row.seq));
      }
      const now = Date.now();
      const iso = (ms: number) => new Date(now + ms).toISOString();
      const hold = (name: string, by: string, untilMs: number) =>
        db.kysely
          .updateTable('outbox')
          .set({ claimed_by: by, claimed_until: iso(untilMs) })
          .where('seq', '=', seqOf.get(name)!)
          .execute();
      await hold('b2', 'other', 60_000); // held by another relay: b3 must wait, b1 may go
      await hold('c0', 'me', 60_000); // this relay's own earlier claim: c1 may go
      await hold('d1', 'other', -1_000); // another relay's lease ran out: d1 and d2 may go
      const rows = await new OutboxRepository(db).claim('me', 100, iso(0), iso(60_000));
      const names = rows.map((r) => [...seqOf].find(([, s]) => s === r.seq)![0]);
      assert.deepEqual(names, ['a1', 'b1', 'c1', 'd1', 'a2', 'd2']);
      const again = await new OutboxRepository(db).claim('me', 100, iso(0), iso(60_000));
      assert.deepEqual(again, [], 'what it took is not taken again; b3 still waits');
    });
  });
}
