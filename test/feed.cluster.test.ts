// The feed's read model scaled out: two Nova nodes sharing Postgres and Redis (the candidate pool
// and viewer features live in Redis, each node mirrors them) serve a viewer the same ranked feed,
// an action taken on one node reaches the feed served by the other, and a third node that keeps
// everything in its own memory (no Redis) ranks exactly the same list from the same database.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { follow } from '../src/client/channels.client.js';
import { like, recordView, reportWatch } from '../src/client/engagement.client.js';
import { getFeed } from '../src/client/feed.client.js';
import { NovaClient } from '../src/client/nova-client.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/rtmp.js';
import { insertReadyVideo } from './helpers/videos-db.js';

type Item = { id: string; title: string; views: number; likes: number; score: number; reason: string };
type Feed = { items: Item[]; ranking: string; model_version: number | null };

const redisUrl = new URL(REDIS_TEST_URL);

describe('feed read model on two nodes (Redis) and one without', () => {
  let skip: string | false = false;
  let pg: TestDatabase | undefined;
  let modelsDir: string;
  const nodes: TestNova[] = [];
  let a: NovaClient;
  let b: NovaClient;
  let token: string;
  const ids: string[] = [];
  let followed = '';

  const env = (redis: boolean): Record<string, string> => {
    const prefix = `nova-feedtest-${process.pid}-${Date.now().toString(36)}`;
    return {
      DATABASE_URL: pg!.url,
      MODELS_DIR: modelsDir,
      ...(redis
        ? { REDIS_URL: REDIS_TEST_URL, QUEUE_PREFIX: shared, CHAT_REDIS_PREFIX: `${shared}:chat:`, TRENDING_REDIS_PREFIX: `${shared}:trending:`, FEED_REDIS_PREFIX: `${shared}:feed:` }
        : { QUEUE_PREFIX: prefix }),
    };
  };
  let shared = '';

  before(async () => {
    skip = (await postgresSkipReason()) || (await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379)));
    if (skip) return;
    shared = `nova-feedtest-${process.pid}-${Date.now().toString(36)}`;
    pg = await createTestDatabase();
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.cpSync(path.resolve('models/feed-ranker'), path.join(modelsDir, 'feed-ranker'), { recursive: true });
    nodes.push(await startTestNova(env(true), { api: true, worker: false }));
    nodes.push(await startTestNova(env(true), { api: true, worker: false }));
    const [na, nb] = nodes;
    await na.client.as(null).register('fc_admin', 'password-123');
    const viewer = await na.client.newUser('fc_viewer');
    token = viewer.client.token!;
    a = viewer.client;
    b = new NovaClient(nb.url).as(token);
    const creators = [];
    for (let i = 0; i < 3; i++) creators.push((await na.client.newUser(`fc_creator${i}`)).user);
    followed = creators[2].username;
    // Distinct ages (hours apart), so no two scores tie.
    for (let i = 0; i < 12; i++) ids.push(await insertReadyVideo(na, creators[i % 3].id, `video ${i}`, 2 + i * 7));
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.stop();
    await pg?.drop();
    if (shared) {
      // This run's keys only (its own prefix).
      const r = new Redis(REDIS_TEST_URL);
      const keys = await r.keys(`${shared}:*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
    if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  const feed = async (c: NovaClient): Promise<Feed> => {
    const res = await getFeed(c, 50);
    assert.equal(res.status, 200);
    return res.body as unknown as Feed;
  };
  /** Everything but the score, which moves with time (freshness) between two requests. */
  const shape = (f: Feed) => ({ ranking: f.ranking, model_version: f.model_version, items: f.items.map(({ id, views, likes, reason }) => ({ id, views, likes, reason })) });
  const sameScores = (x: Feed, y: Feed): void => {
    x.items.forEach((item, i) => assert.ok(Math.abs(item.score - y.items[i].score) < 1e-4, `${item.title}: ${item.score} vs ${y.items[i].score}`));
  };

  it('serves the same ranked feed from both nodes, and actions on one reach the other', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // Node A builds the shared pool; node B loads it from Redis.
    const first = await feed(a);
    assert.equal(first.ranking, 'model');
    assert.equal(first.items.length, 12);
    assert.deepEqual(shape(await feed(b)), shape(first));

    // Actions split over both nodes: a like on A, a watch and a follow on B, views on A.
    assert.equal((await like(a, ids[0])).status, 200);
    assert.equal((await reportWatch(b, ids[1], 120)).status, 200);
    assert.ok((await follow(b, followed)).status < 300);
    for (let i = 0; i < 5; i++) assert.equal((await recordView(new NovaClient(nodes[0].url), ids[4], `fc-anon-${i}xx`)).status, 200);

    // Wait (bounded) until node B's feed shows all of it; the other node's mirror is updated by Redis.
    const settled = (f: Feed): boolean => !f.items.some((i) => i.id === ids[0] || i.id === ids[1]) && f.items.find((i) => i.id === ids[4])?.views === 5 && f.items.some((i) => i.reason === 'followed');
    const onB = await waitFor('node B to see every action', async () => {
      const f = await feed(b);
      return settled(f) ? f : null;
    });
    const onA = await waitFor('node A to see every action', async () => {
      const f = await feed(a);
      return settled(f) ? f : null;
    });
    assert.equal(onA.items.length, 10);
    assert.deepEqual(shape(onA), shape(onB));
    sameScores(onA, onB);
  });

  it('ranks the same list on a node that keeps everything in its own memory', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const ref = await feed(a);
    nodes.push(await startTestNova(env(false), { api: true, worker: false }));
    const memory = await feed(new NovaClient(nodes[2].url).as(token));
    assert.equal(memory.items.length, 10);
    assert.deepEqual(shape(memory), shape(ref));
    sameScores(memory, ref);
  });
});
