// The outbox relay on SQLite and on the real Postgres: a bus that fails for a while loses nothing
// and keeps each key's order; lost acknowledgements repeat events with the same event_id and the
// idempotent consumer applies them once; rollbacks produce no event; a commit wakes the relay
// without waiting for a poll; pruning; a relay claims a key's next rows while publishing its earlier
// ones, but not after a publish of them timed out; and (Postgres) two relays never publish a row at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consumeEvents } from '../src/events/events.consumer.js';
import type { EventEnvelope } from '../src/events/events.types.js';
import { OutboxRelay, type RelayOptions } from '../src/events/outbox.relay.js';
import { appendEvent, OutboxRepository } from '../src/events/outbox.repository.js';
import type { EventBus, OutgoingMessage, ReceivedMessage } from '../src/infra/bus/bus.js';
import { FailureInjectingBus } from '../src/infra/bus/failure-injecting.bus.js';
import { MemoryBus } from '../src/infra/bus/memory.bus.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';
import { TEST_DIALECTS } from './helpers/dialects.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const FAST: RelayOptions = { batchSize: 25, pollIntervalMs: 50, leaseMs: 10_000, backoffMinMs: 10, backoffMaxMs: 100 };

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes n progress events over `keys` keys, one transaction each; progress counts up per key. */
async function writeEvents(db: Db, prefix: string, n: number, keys: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${prefix}-${i % keys}`;
    const env = await db.kysely
      .transaction()
      .execute((trx) => appendEvent(trx, 'video.progress', key, { video_id: key, owner_id: 'owner', stage: 'transcode', progress: Math.floor(i / keys), timestamp: new Date().toISOString() }));
    ids.push(env.event_id);
  }
  return ids;
}

function parsed(messages: ReceivedMessage[]): Array<EventEnvelope<'video.progress'> & { key: string }> {
  return messages.map((m) => ({ ...(JSON.parse(m.value) as EventEnvelope<'video.progress'>), key: m.key }));
}

/** Per key, the progress values in the order their first copy arrived. */
function firstSeenOrderPerKey(messages: ReceivedMessage[]): Map<string, number[]> {
  const seen = new Set<string>();
  const out = new Map<string, number[]>();
  for (const e of parsed(messages)) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    if (!out.has(e.key)) out.set(e.key, []);
    out.get(e.key)!.push(e.progress);
  }
  return out;
}

function assertAscending(perKey: Map<string, number[]>): void {
  for (const [key, list] of perKey) {
    for (let i = 1; i < list.length; i++) assert.ok(list[i] > list[i - 1], `key ${key} out of order: ${list.join(',')}`);
  }
}

function suite(name: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`outbox relay (${name})`, async () => {
    const reason = await skip();
    let db: Db;
    let cleanup: () => Promise<void>;
    before(async () => {
      if (reason) return;
      ({ db, cleanup } = await open());
      await migrateToLatest(db);
    });
    after(async () => {
      if (reason) return;
      await db.close();
      await cleanup();
    });

    /** A relay over a failure-injecting memory bus with a collecting subscriber on `topics`. */
    function rig(opts: Partial<RelayOptions> = {}) {
      const inner = new MemoryBus();
      const bus = new FailureInjectingBus(inner);
      const received: ReceivedMessage[] = [];
      bus.subscribe(['videos.events', 'streams.events'], 'collector', async (batch) => void received.push(...batch));
      const relay = new OutboxRelay(db, bus, { ...FAST, ...opts }, logger);
      return { bus, relay, received };
    }

    it('bus down for a while: nothing is delivered meanwhile, then everything, in order per key, once', { skip: reason }, async () => {
      const { bus, relay, received } = rig();
      bus.failing = 'before';
      relay.start();
      try {
        const ids = await writeEvents(db, 'down', 120, 6);
        await until('several failed publish rounds', () => bus.failures >= 5);
        assert.equal(received.length, 0, 'nothing reaches consumers while the bus is down');
        const stuck = await db.kysely.selectFrom('outbox').select(['delivered_at', 'last_error', 'attempts']).where('event_key', 'like', 'down-%').execute();
        assert.equal(stuck.length, 120);
        assert.ok(stuck.every((r) => r.delivered_at === null));
        assert.ok(
          stuck.some((r) => r.attempts > 0 && /injected failure/.test(r.last_error ?? '')),
          'failed attempts are recorded on the rows',
        );

        bus.failing = null;
        await until('all 120 events', () => received.length >= 120);
        const got = parsed(received);
        assert.equal(got.length, 120, 'no duplicates when the failure happened before the publish');
        assert.deepEqual(new Set(got.map((e) => e.event_id)), new Set(ids), 'none lost');
        assertAscending(firstSeenOrderPerKey(received));
        for (const e of got) {
          assert.equal(e.event_type, 'video.progress');
          assert.equal(e.schema_version, 1);
          assert.equal(e.key, e.video_id, 'messages are keyed by the video id');
        }
        await until('all marked delivered', async () => {
          const left = await db.kysely.selectFrom('outbox').select('seq').where('event_key', 'like', 'down-%').where('delivered_at', 'is', null).execute();
          return left.length === 0;
        });
      } finally {
        await relay.stop();
      }
    });

    it('lost acknowledgements repeat events with the same event_id; the idempotent consumer applies each once', { skip: reason }, async () => {
      const { bus, relay, received } = rig({ batchSize: 10 });
      const applied: string[] = [];
      consumeEvents(bus, db, { name: `test-${name}-dedupe`, topics: ['videos.events'], handle: async (_trx, events) => void applied.push(...events.map((e) => e.event_id)) }, logger);
      bus.failNext(4, 'after');
      relay.start();
      try {
        const ids = await writeEvents(db, 'ack', 40, 4);
        await until('all 40 distinct events', () => new Set(parsed(received).map((e) => e.event_id)).size >= 40 && bus.failures >= 4);
        await until('the consumer to catch up', () => applied.length >= 40);
        const got = parsed(received).filter((e) => e.key.startsWith('ack-'));
        assert.ok(got.length > 40, `acknowledgement losses caused repeats (${got.length} messages)`);
        assert.deepEqual(new Set(got.map((e) => e.event_id)), new Set(ids));
        // A repeat is the very same event: same id, same payload.
        const byId = new Map<string, string>();
        for (const m of received) {
          const id = (JSON.parse(m.value) as EventEnvelope).event_id;
          if (byId.has(id)) assert.equal(m.value, byId.get(id));
          byId.set(id, m.value);
        }
        assertAscending(firstSeenOrderPerKey(received.filter((m) => m.key.startsWith('ack-'))));
        assert.equal(applied.length, 40, 'each event applied exactly once');
        assert.deepEqual(new Set(applied), new Set(ids));
        await until('all marked delivered', async () => {
          const left = await db.kysely.selectFrom('outbox').select('seq').where('event_key', 'like', 'ack-%').where('delivered_at', 'is', null).execute();
          return left.length === 0;
        });
      } finally {
        await relay.stop();
      }
    });

    it('a backlog: the next, larger batch is claimed while one is being published; every event once', { skip: reason }, async () => {
      const { bus, relay, received } = rig({ batchSize: 10 });
      let open: () => void = () => {};
      bus.hold = new Promise<void>((resolve) => (open = resolve));
      // One key per event, so no batch has to wait for another's keys.
      const ids = await writeEvents(db, 'ahead', 30, 30);
      relay.start();
      try {
        // The first claim came back full (10), so the one made ahead asks for twice as many.
        await until('a second, larger batch claimed while the first is still being published', async () => {
          const claimed = await db.kysely.selectFrom('outbox').select('seq').where('event_key', 'like', 'ahead-%').where('claimed_by', '=', relay.relayId).execute();
          return claimed.length === 30;
        });
        assert.equal(bus.calls, 1, 'one publish started, held');
        bus.hold = null;
        open();
        await until('all 30 events', () => received.filter((m) => m.key.startsWith('ahead-')).length >= 30);
        const got = parsed(received).filter((e) => e.key.startsWith('ahead-'));
        assert.equal(got.length, 30, 'no repeats');
        assert.deepEqual(new Set(got.map((e) => e.event_id)), new Set(ids));
        await until('all marked delivered', async () => {
          const left = await db.kysely.selectFrom('outbox').select('seq').where('event_key', 'like', 'ahead-%').where('delivered_at', 'is', null).execute();
          return left.length === 0;
        });
      } finally {
        bus.hold = null;
        open();
        await relay.stop();
      }
    });

    it('one key: its next rows are claimed while its earlier ones are being published, and go out after them', { skip: reason }, async () => {
      const { bus, relay, received } = rig({ batchSize: 10 });
      let open: () => void = () => {};
      bus.hold = new Promise<void>((resolve) => (open = resolve));
      const ids = await writeEvents(db, 'onekey', 30, 1);
      relay.start();
      try {
        await until('a second batch of the same key claimed while the first is held', async () => {
          const claimed = await db.kysely.selectFrom('outbox').select('seq').where('event_key', '=', 'onekey-0').where('claimed_by', '=', relay.relayId).execute();
          return claimed.length === 30;
        });
        assert.equal(bus.calls, 1, 'one publish started, held');
        bus.hold = null;
        open();
        await until('all 30 events', () => received.filter((m) => m.key === 'onekey-0').length >= 30);
        const got = parsed(received).filter((e) => e.key === 'onekey-0');
        assert.equal(got.length, 30, 'no repeats');
        assert.deepEqual(new Set(got.map((e) => e.event_id)), new Set(ids));
        assertAscending(firstSeenOrderPerKey(received.filter((m) => m.key === 'onekey-0')));
      } finally {
        bus.hold = null;
        open();
        await relay.stop();
      }
    });

    it('a publish that timed out holds its key back until its lease ends; its rows then go out first', { skip: reason }, async () => {
      // The publish timeout is half the lease: 1 s here. The first publish stays held past it.
      const { bus, relay, received } = rig({ batchSize: 10, leaseMs: 2000 });
      let open: () => void = () => {};
      bus.hold = new Promise<void>((resolve) => (open = resolve));
      const ids = await writeEvents(db, 'timeout', 30, 1);
      relay.start();
      try {
        await until('the first publish started', () => bus.calls >= 1);
        bus.hold = null; // later publishes go through at once
        const seen = () =>
          new Set(
            parsed(received)
              .filter((e) => e.key === 'timeout-0')
              .map((e) => e.event_id),
          );
        await until('all 30 events', () => seen().size >= 30, 60_000);
        assert.deepEqual(seen(), new Set(ids));
        assertAscending(firstSeenOrderPerKey(received.filter((m) => m.key === 'timeout-0')));
      } finally {
        open();
        await relay.stop();
      }
    });

    it('a batch claimed ahead of a failed publish goes back untouched: no attempt, no error', { skip: reason }, async () => {
      // A long backoff: after the first failure the relay waits, so the rows can be looked at.
      const { bus, relay } = rig({ batchSize: 10, backoffMinMs: 60_000, backoffMaxMs: 60_000 });
      bus.failing = 'before';
      await writeEvents(db, 'back', 30, 30);
      relay.start();
      try {
        await until('a failed publish', () => bus.failures >= 1);
        const rows = () => db.kysely.selectFrom('outbox').select(['seq', 'attempts', 'last_error', 'claimed_by']).where('event_key', 'like', 'back-%').orderBy('seq').execute();
        await until('no row left claimed', async () => (await rows()).every((r) => r.claimed_by === null));
        const all = await rows();
        assert.equal(bus.failures, 1);
        assert.deepEqual(
          all.slice(0, 10).map((r) => [r.attempts, /injected failure/.test(r.last_error ?? '')]),
          Array(10).fill([1, true]),
          'the failed batch: one attempt, its error',
        );
        assert.deepEqual(
          all.slice(10).map((r) => [r.attempts, r.last_error]),
          Array(20).fill([0, null]),
          'the rest: as written',
        );
      } finally {
        await relay.stop();
        await db.kysely.deleteFrom('outbox').where('event_key', 'like', 'back-%').execute();
      }
    });

    it('a rolled-back transaction produces no event', { skip: reason }, async () => {
      const { relay, received } = rig();
      relay.start();
      try {
        await assert.rejects(
          db.kysely.transaction().execute(async (trx) => {
            await appendEvent(trx, 'video.deleted', 'rolled-back', { video_id: 'rolled-back', owner_id: 'o', timestamp: new Date().toISOString() });
            throw new Error('the change failed');
          }),
          /the change failed/,
        );
        await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.deleted', 'committed', { video_id: 'committed', owner_id: 'o', timestamp: new Date().toISOString() }));
        await until('the committed event', () => received.some((m) => m.key === 'committed'));
        assert.ok(!received.some((m) => m.key === 'rolled-back'));
        const rows = await db.kysely.selectFrom('outbox').select('seq').where('event_key', '=', 'rolled-back').execute();
        assert.equal(rows.length, 0);
      } finally {
        await relay.stop();
      }
    });

    it('a commit wakes the relay at once, without waiting for its (here: one minute) poll', { skip: reason }, async () => {
      const { relay, received } = rig({ pollIntervalMs: 60_000 });
      relay.start();
      try {
        // Let the relay go idle first: its first round finds nothing and it sleeps for a minute.
        await new Promise((r) => setTimeout(r, 300));
        await db.kysely.transaction().execute((trx) => appendEvent(trx, 'stream.started', 'wake-1', { stream_id: 'wake-1', creator_id: 'c', title: 't', timestamp: new Date().toISOString() }));
        await until('the event, well before the next poll', () => received.some((m) => m.key === 'wake-1'), 15_000);
      } finally {
        await relay.stop();
      }
    });

    it('prunes delivered events after the retention, never pending ones', { skip: reason }, async () => {
      const repo = new OutboxRepository(db);
      const { relay, received } = rig();
      relay.start();
      try {
        await writeEvents(db, 'prune', 5, 1);
        await until('delivery', () => received.filter((m) => m.key === 'prune-0').length >= 5);
      } finally {
        await relay.stop();
      }
      // One pending event that must survive.
      await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.deleted', 'prune-pending', { video_id: 'x', owner_id: 'o', timestamp: new Date().toISOString() }));
      const delivered = await db.kysely.selectFrom('outbox').select('seq').where('delivered_at', 'is not', null).execute();
      assert.ok(delivered.length >= 5);
      assert.equal(await repo.pruneDelivered(new Date(Date.now() - 3600_000).toISOString()), 0, 'nothing is older than an hour');
      assert.equal(await repo.pruneDelivered(new Date(Date.now() + 1000).toISOString(), 2), delivered.length, 'chunked delete removes all delivered rows');
      const left = await db.kysely.selectFrom('outbox').select(['event_key', 'delivered_at']).execute();
      assert.deepEqual(
        left.map((r) => r.event_key),
        ['prune-pending'],
      );
      assert.equal(left[0].delivered_at, null);
      assert.equal((await repo.pendingStats()).pending, 1);
    });
  });
}

for (const d of TEST_DIALECTS) suite(d.name, d.open, d.skip);

/** Records, across relays, which outbox rows are being published right now. */
class RecordingBus implements EventBus {
  readonly kind = 'recording';
  constructor(
    private readonly inFlight: Set<string>,
    private readonly name: string,
    private readonly log: Array<{ relay: string; key: string; id: string; progress: number }>,
    private readonly violations: string[],
  ) {}
  async publish(topic: string, key: string, value: string): Promise<void> {
    await this.publishBatch([{ topic, key, value }]);
  }
  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    const ids = messages.map((m) => (JSON.parse(m.value) as EventEnvelope).event_id);
    for (const id of ids) {
      if (this.inFlight.has(id)) this.violations.push(id);
      this.inFlight.add(id);
    }
    for (const m of messages) {
      const e = JSON.parse(m.value) as EventEnvelope<'video.progress'>;
      this.log.push({ relay: this.name, key: m.key, id: e.event_id, progress: e.progress });
    }
    // Long enough that the other relay's claims overlap with this publish.
    await new Promise((r) => setTimeout(r, 15));
    for (const id of ids) this.inFlight.delete(id);
  }
  subscribe(): never {
    throw new Error('not used');
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('two relays on one Postgres', async () => {
  const reason = await postgresSkipReason();
  let tdb: TestDatabase;
  let dbA: Db;
  let dbB: Db;
  before(async () => {
    if (reason) return;
    tdb = await createTestDatabase();
    dbA = openDatabase({ databaseUrl: tdb.url, sqlitePath: ':memory:' });
    dbB = openDatabase({ databaseUrl: tdb.url, sqlitePath: ':memory:' });
    await migrateToLatest(dbA);
  });
  after(async () => {
    if (reason) return;
    await dbA.close();
    await dbB.close();
    await tdb.drop();
  });

  it('never publish the same row at the same time; every row once; each key in order', { skip: reason }, async () => {
    const inFlight = new Set<string>();
    const log: Array<{ relay: string; key: string; id: string; progress: number }> = [];
    const violations: string[] = [];
    const opts: RelayOptions = { ...FAST, batchSize: 15 };
    const a = new OutboxRelay(dbA, new RecordingBus(inFlight, 'a', log, violations), { ...opts, relayId: 'relay-a' }, logger);
    const b = new OutboxRelay(dbB, new RecordingBus(inFlight, 'b', log, violations), { ...opts, relayId: 'relay-b' }, logger);
    // A backlog first, so both relays start on it at once, then more while they run. More keys
    // than a batch holds: a relay cannot take rows whose key has earlier rows in the other's claim.
    const ids = await writeEvents(dbA, 'two', 300, 60);
    a.start();
    b.start();
    try {
      ids.push(...(await writeEvents(dbB, 'two-live', 100, 25)));
      await until('every event published', () => new Set(log.map((l) => l.id)).size >= ids.length, 60_000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.deepEqual(violations, [], 'a row was being published by both relays at once');
    assert.ok(log.some((l) => l.relay === 'a') && log.some((l) => l.relay === 'b'), 'both relays took part');
    assert.equal(log.length, ids.length, 'without failures every row is published exactly once');
    assert.deepEqual(new Set(log.map((l) => l.id)), new Set(ids));
    const perKey = new Map<string, number[]>();
    for (const l of log) {
      if (!perKey.has(l.key)) perKey.set(l.key, []);
      perKey.get(l.key)!.push(l.progress);
    }
    assertAscending(perKey);
    const claimedBy = await dbA.kysely.selectFrom('outbox').select('attempts').execute();
    assert.ok(
      claimedBy.every((r) => r.attempts === 1),
      'each row was claimed once',
    );
  });
});
