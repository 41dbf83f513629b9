// Trending over real HTTP, fed by the real engagement endpoints through the outbox, the relay and
// the bus: in-process on SQLite (one node, restored from the outbox after a restart), and in Redis
// sorted sets with two nodes on one Postgres (engagement on one node shows on the other's list and
// stream). Ready videos are inserted straight into the videos table: transcoding would only add
// minutes to a test about ranking. Engagement from 50 minutes ago is written as the engagement
// service writes it (appendEvent in a transaction) with that time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { like, recordView, unlike } from '../src/client/engagement.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { getTrending, openTrendingStream, type TrendingPage } from '../src/client/trending.client.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { seedReadyVideo } from './helpers/videos-db.js';

async function insertVideo(t: TestNova, ownerId: string, title: string): Promise<string> {
  return (await seedReadyVideo(t.nova.container.db.kysely, { owner_id: ownerId, title, duration_seconds: 42, width: 640, height: 360 })).id;
}

/** Views as the engagement service records them, but `minutesAgo` in the past. */
async function pastViews(t: TestNova, videoId: string, n: number, minutesAgo: number): Promise<void> {
  const ts = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  await t.nova.container.db.kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < n; i++) await appendEvent(trx, 'video.viewed', videoId, { video_id: videoId, viewer_id: null, timestamp: ts });
  });
}

async function views(c: NovaClient, videoId: string, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await recordView(c.as(null), videoId, `viewer-${tag}-${i}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.counted, true);
  }
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ids = (p: TrendingPage) => p.items.map((i) => i.id);

describe('trending (in-process, SQLite)', () => {
  let t: TestNova;
  let owner: { client: NovaClient; user: { id: string } };
  const v: Record<string, string> = {};
  before(async () => {
    t = await startTestNova({ TRENDING_REFRESH_MS: '500' });
    owner = await t.client.newUser('creator');
    for (const name of ['old', 'burst', 'liked', 'doomed']) v[name] = await insertVideo(t, owner.user.id, `video ${name}`);
  });
  after(async () => t.stop());

  it('a burst of recent views outranks more but older views in 1h, not in 7d', async () => {
    await pastViews(t, v.old, 30, 50);
    await views(t.client, v.burst, 10, 'burst');
    const hour = await until(
      'every view applied',
      () => getTrending(t.client, '1h'),
      (r) => r.body.items.length >= 2 && r.body.items.some((i) => i.id === v.burst && i.view_count === 10 && i.score > 9),
    );
    assert.equal(hour.status, 200);
    assert.equal(hour.body.window, '1h');
    assert.deepEqual(ids(hour.body).slice(0, 2), [v.burst, v.old]);
    const first = hour.body.items[0];
    assert.equal(first.title, 'video burst');
    assert.equal(first.rank, 1);
    assert.equal(first.owner_id, owner.user.id);
    assert.match(first.owner_username, /^creator_/);
    assert.equal(first.view_count, 10);
    assert.equal(first.duration_seconds, 42);
    assert.ok(first.score > 9 && first.score <= 10, `10 fresh views score about 10 (got ${first.score})`);
    assert.ok(hour.body.items[1].score < 4, '30 views 50 minutes ago are worth 30·2^(-50/15) ≈ 3 in the 1h window');

    const week = await until(
      'the 7d list',
      () => getTrending(t.client, '7d'),
      (r) => r.body.items.some((i) => i.id === v.old && i.score > 25),
    );
    assert.deepEqual(ids(week.body).slice(0, 2), [v.old, v.burst]);
    assert.deepEqual(ids((await getTrending(t.client, '7d', 1)).body), [v.old], 'limit');
    assert.equal((await getTrending(t.client)).body.window, '24h', 'the default window');
  });

  it('the SSE stream pushes the changed list after new engagement', async () => {
    const stream = await openTrendingStream(t.client, '1h');
    try {
      const initial = await stream.next(() => true);
      assert.ok(!ids(initial).includes(v.liked));
      await views(t.client, v.liked, 12, 'liked');
      const pushed = await stream.next((p) => ids(p)[0] === v.liked && p.items[0].view_count === 12);
      assert.equal(pushed.window, '1h');
      assert.equal(pushed.items[0].view_count, 12);
    } finally {
      stream.close();
    }
  });

  it('a like counts once per user, however often it is toggled', async () => {
    const fan = await t.client.newUser('fan');
    const score = async () => (await getTrending(t.client, '7d')).body.items.find((i) => i.id === v.liked)!.score;
    // The 7d list is cached and refreshed on its own: start from a list that has the previous
    // test's 12 views in it, or a stale "before" would make the like look bigger than it is.
    const settled = await until(
      'the earlier views in the 7d list',
      () => getTrending(t.client, '7d'),
      (r) => r.body.items.find((i) => i.id === v.liked)?.view_count === 12,
    );
    const before = settled.body.items.find((i) => i.id === v.liked)!.score;
    assert.equal((await like(fan.client, v.liked)).status, 200);
    const liked = await until('the like in the score', score, (s) => s > before + 2.5);
    assert.ok(Math.abs(liked - (before + 3)) < 0.1, `one like adds 3 (before ${before}, after ${liked})`);
    await unlike(fan.client, v.liked);
    await like(fan.client, v.liked);
    await views(t.client, v.liked, 1, 'after-relike'); // a marker that the events before it were applied
    const after = await until('the marker view', score, (s) => s > liked + 0.5);
    assert.ok(Math.abs(after - (liked + 1)) < 0.1, `the re-like added nothing, the view 1 (got ${after - liked})`);
  });

  it('a deleted video leaves the lists', async () => {
    await views(t.client, v.doomed, 3, 'doomed');
    await until(
      'the video listed',
      () => getTrending(t.client, '1h'),
      (r) => ids(r.body).includes(v.doomed),
    );
    assert.equal((await owner.client.delete(`/api/v1/videos/${v.doomed}`)).status, 204);
    await until(
      'the video gone',
      () => getTrending(t.client, '1h'),
      (r) => !ids(r.body).includes(v.doomed),
    );
  });

  it('rejects unknown windows and bad limits', async () => {
    const bad = await t.client.get<Problem>('/api/v1/discover/trending?window=2h');
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors?.some((e) => e.field.includes('window')));
    assert.equal((await t.client.get('/api/v1/discover/trending?limit=0')).status, 400);
    assert.equal((await t.client.get('/api/v1/discover/trending?limit=101')).status, 400);
    assert.equal((await t.client.get('/api/v1/discover/trending/stream?window=5m')).status, 400);
  });

  it('after a restart the in-process lists are restored from the outbox', async () => {
    const before = (await getTrending(t.client, '7d')).body;
    const dataDir = t.dataDir;
    await t.stop({ keepData: true });
    t = await startTestNova({ DATA_DIR: dataDir, TRENDING_REFRESH_MS: '500' });
    const after = (await getTrending(t.client, '7d')).body;
    assert.deepEqual(ids(after), ids(before));
    after.items.forEach((item, i) => assert.ok(Math.abs(item.score - before.items[i].score) < 0.05, `${item.title}: ${item.score} vs ${before.items[i].score}`));
  });
});

describe('trending (Redis sorted sets, two nodes on Postgres)', async () => {
  const reason = (await postgresSkipReason()) || (await requireServer('Redis', new URL(REDIS_TEST_URL).hostname, Number(new URL(REDIS_TEST_URL).port || 6379)));
  let db: TestDatabase;
  let a: TestNova;
  let b: TestNova;
  const prefix = `nova-test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:trending:`;
  before(async () => {
    if (reason) return;
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: REDIS_TEST_URL, TRENDING_REDIS_PREFIX: prefix, QUEUE_PREFIX: `nt${Date.now().toString(36)}`, TRENDING_REFRESH_MS: '500' };
    a = await startTestNova(env);
    b = await startTestNova(env);
  });
  after(async () => {
    if (reason) return;
    await a.stop();
    await b.stop();
    await db.drop();
    const r = new Redis(REDIS_TEST_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });

  it('engagement recorded on one node ranks on the other, in its list and its stream', { skip: reason }, async () => {
    const owner = await a.client.newUser('creator');
    const old = await insertVideo(a, owner.user.id, 'old');
    const burst = await insertVideo(a, owner.user.id, 'burst');
    const stream = await openTrendingStream(b.client, '1h');
    try {
      await pastViews(a, old, 30, 50);
      await views(a.client, burst, 10, 'burst');
      const pushed = await stream.next((p) => p.items.length >= 2 && p.items.some((i) => i.id === burst && i.score > 9));
      assert.deepEqual(ids(pushed).slice(0, 2), [burst, old]);
      const weekOnB = await until(
        'node b, 7d',
        () => getTrending(b.client, '7d'),
        (r) => r.body.items.some((i) => i.id === old && i.score > 25),
      );
      assert.deepEqual(ids(weekOnB.body).slice(0, 2), [old, burst]);
      // Node a rebuilds on its own schedule (after the change notice): wait for it to catch up too.
      const hourOnA = await until(
        'node a, 1h',
        () => getTrending(a.client, '1h'),
        (r) => r.body.items.some((i) => i.id === burst && i.score > 9),
      );
      assert.deepEqual(ids(hourOnA.body).slice(0, 2), [burst, old]);
      assert.ok(Math.abs(hourOnA.body.items[0].score - 10) < 0.5);
      const r = new Redis(REDIS_TEST_URL);
      try {
        assert.equal(await r.zcard(`${prefix}score:1h`), 2, 'the scores live in Redis');
      } finally {
        await r.quit();
      }
    } finally {
      stream.close();
    }
  });
});
