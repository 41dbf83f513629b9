// Live viewer counts shared by several API processes through the machine's real Redis.
//  1. The presence store itself: two "processes", each its own ViewerTracker and Redis connection,
//     swept at explicit times (no waiting on clocks).
//  2. Two Novas on one Postgres and Redis: a stream's viewers polling through either node are
//     counted once, and both nodes report the same total.
//  3. A stream ended by one process is forgotten by the others, which stop writing its viewers.
//  4. Redis away: the viewer commands fail fast, and streams still end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { AccountsRepository } from '../src/accounts/accounts.repository.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';
import { RedisViewerPresence } from '../src/live/live.presence.js';
import { LiveRepository } from '../src/live/live.repository.js';
import { LiveService } from '../src/live/live.service.js';
import { ViewerTracker } from '../src/live/live.viewers.js';
import { selectLiveLadder } from '../src/media/live.args.js';
import { TEST_DIALECTS } from './helpers/dialects.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';

const redisUrl = new URL(REDIS_TEST_URL);
const skip = await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379));
const TTL = 4000;

describe('live viewer presence shared through Redis', { skip }, () => {
  const prefix = `nova-test-viewers-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
  const connections: Redis[] = [];
  const node = () => {
    const r = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: null });
    connections.push(r);
    const tracker = new ViewerTracker(TTL);
    return { tracker, presence: new RedisViewerPresence(r, prefix, tracker, 60_000) };
  };
  after(async () => {
    const keys = await connections[0].keys(`${prefix}*`);
    if (keys.length) await connections[0].del(...keys);
    for (const r of connections) await r.quit();
  });

  it('counts a viewer seen by two processes once, and both read the same total', async () => {
    const a = node();
    const b = node();
    const t0 = Date.now();
    a.tracker.polled('s1', 'v1', t0);
    b.tracker.polled('s1', 'v1', t0); // the load balancer sent v1's next poll to the other process
    b.tracker.polled('s1', 'v2', t0);
    b.tracker.joined('s1', 'chat-3');
    assert.deepEqual(await a.presence.sweep(t0), new Map([['s1', 1]]));
    assert.deepEqual(await b.presence.sweep(t0), new Map([['s1', 3]]));
    assert.deepEqual(await a.presence.sweep(t0), new Map([['s1', 3]]), 'viewers of the other process count here');
    assert.equal(await a.presence.count('s1', t0), 3);

    // The pollers stop; the chat socket stays open on b.
    const t1 = t0 + TTL + 1;
    assert.deepEqual(await b.presence.sweep(t1), new Map([['s1', 1]]));
    assert.deepEqual(await a.presence.sweep(t1), new Map([['s1', 1]]), 'a keeps reporting a stream it wrote to');

    // The socket closes: one TTL later everyone is gone, and each process reports zero once.
    b.tracker.left('s1', 'chat-3');
    const t2 = t1 + TTL + 1;
    assert.deepEqual(await b.presence.sweep(t2), new Map([['s1', 0]]));
    assert.deepEqual(await a.presence.sweep(t2), new Map([['s1', 0]]));
    assert.deepEqual(await a.presence.sweep(t2 + 1000), new Map(), 'nothing left to report');
    assert.deepEqual(await b.presence.sweep(t2 + 1000), new Map());
  });

  it('keeps the later expiry when processes disagree, and forgets an ended stream everywhere', async () => {
    const a = node();
    const b = node();
    const t0 = Date.now();
    a.tracker.polled('s2', 'v1', t0);
    b.tracker.polled('s2', 'v1', t0 + 3000); // a later poll of the same viewer, on b
    await b.presence.sweep(t0 + 3000);
    await a.presence.sweep(t0 + 3000); // a's older expiry must not shorten b's
    assert.equal(await a.presence.count('s2', t0 + TTL + 1), 1, "still counted until b's expiry");
    await a.presence.forget('s2');
    assert.equal(await connections[0].exists(`${prefix}s2`), 0);
    assert.equal(await a.presence.count('s2', t0 + 3000), 0);
  });
});

describe('live viewer counts across two API processes (Postgres, Redis)', async () => {
  const pgSkip = await postgresSkipReason();
  const suiteSkip = skip || pgSkip;
  let db: TestDatabase;
  const novas: TestNova[] = [];

  before(async () => {
    if (suiteSkip) return;
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: REDIS_TEST_URL, QUEUE_PREFIX: `nova-test-${Date.now().toString(36)}` };
    novas.push(await startTestNova(env), await startTestNova(env));
  });
  after(async () => {
    for (const n of novas) await n.stop();
    await db?.drop();
  });

  it('counts viewers polling through either node once, and both nodes report the total', { skip: suiteSkip }, async () => {
    const [a, b] = novas;
    await a.client.newUser('admin');
    const { client: creator } = await a.client.newUser('streamer');
    const created = await creator.post<{ stream: { id: string }; playback_url: string }>('/api/v1/streams', { title: 'Two nodes' });
    assert.equal(created.status, 201);
    const id = created.body.stream.id;
    // Live without an encoder: what the playback routes need is the row (status and ladder).
    const now = new Date().toISOString();
    await a.nova.container.db.kysely
      .updateTable('streams')
      .set({ status: 'live', started_at: now, ladder: JSON.stringify(selectLiveLadder(640, 360, true, 2)) })
      .where('id', '=', id)
      .execute();
    const poll = async (n: TestNova, viewer: string) => {
      const r = await fetch(`${n.url}/api/v1/streams/${id}/live/master.m3u8?viewer=${viewer}`);
      assert.equal(r.status, 200, await r.text());
    };
    const liveOf = (n: TestNova) => (n.nova.capabilities.find((c) => c.name === 'live') as unknown as { service: LiveService }).service;
    const viewers = async (n: TestNova) => (await n.client.get<{ viewer_count: number; peak_viewer_count: number }>(`/api/v1/streams/${id}`)).body;

    // v1 polls through both nodes, v2 through b, and a chat socket is open on a: three viewers.
    liveOf(a).viewerJoined(id, 'chat-user-3');
    const deadline = Date.now() + 20_000;
    let seen: Array<{ viewer_count: number }> = [];
    for (;;) {
      await poll(a, 'viewer-one-0001');
      await poll(b, 'viewer-one-0001');
      await poll(b, 'viewer-two-0002');
      seen = [await viewers(a), await viewers(b)];
      if (seen.every((s) => s.viewer_count === 3)) break;
      assert.ok(
        seen.every((s) => s.viewer_count <= 3),
        `a viewer was counted twice: ${JSON.stringify(seen)}`,
      );
      if (Date.now() > deadline) assert.fail(`both nodes never reported 3 viewers: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    // Everyone leaves: both nodes come down to zero (nobody's count sticks), and the peak stays 3.
    liveOf(a).viewerLeft(id, 'chat-user-3');
    const end = Date.now() + 20_000;
    for (;;) {
      seen = [await viewers(a), await viewers(b)];
      if (seen.every((s) => s.viewer_count === 0)) break;
      if (Date.now() > end) assert.fail(`viewer counts never went back to zero: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await viewers(b)).peak_viewer_count, 3);
  });
});

describe('live viewer counts after a stream ends elsewhere (SQLite, Redis)', { skip }, () => {
  it('a process still holding viewers of a stream another process ended forgets them', async () => {
    const { db, cleanup } = await TEST_DIALECTS[0].open();
    const prefix = `nova-test-ended-${Date.now().toString(36)}:`;
    const conns = [0, 1].map(() => new Redis(REDIS_TEST_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }));
    try {
      await Promise.all(conns.map((c) => c.ping().catch(() => new Promise((r) => c.once('ready', r)))));
      await migrateToLatest(db);
      await new AccountsRepository(db).insertUser({ id: 'u1', username: 'streamer', username_lower: 'streamer', password_hash: 'x', role: 'user', created_at: new Date().toISOString() });
      const [a, b] = conns.map(
        (conn) =>
          new LiveService(
            new LiveRepository(db),
            createLogger('silent'),
            { reconnectWindowSeconds: 60, maxDurationSeconds: 3600, segmentSeconds: 2 },
            (tracker, ttlMs) => new RedisViewerPresence(conn, prefix, tracker, 10 * ttlMs),
          ),
      );
      const { stream } = await a.create({ id: 'u1', username: 'streamer', role: 'user' }, 'Ends on a');
      await db.kysely.updateTable('streams').set({ status: 'live', started_at: new Date().toISOString() }).where('id', '=', stream.id).execute();
      b.viewerJoined(stream.id, 'chat-1'); // a chat socket open on b
      await b.tick();
      assert.equal(await conns[0].zcard(`${prefix}${stream.id}`), 1);
      assert.equal(await a.endLive(stream.id, 'creator_ended'), true);
      // b's next sweep finds the stream ended and drops its viewers, so nothing rewrites the set.
      const deadline = Date.now() + 10_000;
      for (;;) {
        await b.tick();
        if (b.viewers.count(stream.id) === 0 && (await conns[0].exists(`${prefix}${stream.id}`)) === 0) break;
        if (Date.now() > deadline) assert.fail("b kept the ended stream's viewers");
        await new Promise((r) => setTimeout(r, 50));
      }
      await b.tick();
      assert.equal(await conns[0].exists(`${prefix}${stream.id}`), 0, 'no sweep writes the ended stream again');
      await a.stop();
      await b.stop();
    } finally {
      for (const c of conns) c.disconnect();
      await db.close();
      await cleanup();
    }
  });
});

describe('live viewer counts while Redis is away (SQLite)', () => {
  it("fails the shared sweep fast and still ends an abandoned stream, with this process's count", async () => {
    const { db, cleanup } = await TEST_DIALECTS[0].open();
    // Nothing listens on port 1: every command fails at once instead of waiting for Redis.
    const conn = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, retryStrategy: () => 500 });
    conn.on('error', () => {});
    try {
      await migrateToLatest(db);
      await new AccountsRepository(db).insertUser({ id: 'u1', username: 'streamer', username_lower: 'streamer', password_hash: 'x', role: 'user', created_at: new Date().toISOString() });
      const live = new LiveService(
        new LiveRepository(db),
        createLogger('silent'),
        { reconnectWindowSeconds: 1, maxDurationSeconds: 3600, segmentSeconds: 2 },
        (tracker, ttlMs) => new RedisViewerPresence(conn, 'nova-test-away:', tracker, 10 * ttlMs),
      );
      const { stream } = await live.create({ id: 'u1', username: 'streamer', role: 'user' }, 'Redis is away');
      // Live, and its encoder went away a minute ago: the next sweep must end it.
      const minuteAgo = new Date(Date.now() - 60_000).toISOString();
      await db.kysely.updateTable('streams').set({ status: 'live', started_at: minuteAgo, disconnected_at: minuteAgo }).where('id', '=', stream.id).execute();
      live.viewerPolled(stream.id, 'viewer-1');
      await live.tick();
      const row = await db.kysely.selectFrom('streams').selectAll().where('id', '=', stream.id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'ended');
      assert.equal(row.peak_viewer_count, 1, 'the count this process had');
      await live.tick(); // not stuck behind a Redis command
      await live.stop();
    } finally {
      conn.disconnect();
      await db.close();
      await cleanup();
    }
  });
});
