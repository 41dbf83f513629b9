// Why each feed item is there, over real HTTP with the shipped model: a followed creator's video
// says `followed`, one by a creator the viewer liked says `similar_to_liked`, a much-viewed one
// `trending`, a fresh one nobody touched `new`, an old untouched one `popular`. A viewer with no
// history (cold start) still gets every public video, newest and most-viewed first among equals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { follow } from '../src/client/channels.client.js';
import { like, recordView } from '../src/client/engagement.client.js';
import { getFeed } from '../src/client/feed.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { startTestNovaOn, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

describe('feed reasons and cold start', () => {
  let t: TestNova;
  let modelsDir: string;
  let skip: string | false = false;
  let viewer: NovaClient;
  let fresh: NovaClient;
  const ids: Record<string, string> = {};

  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.cpSync(path.resolve('models/feed-ranker'), path.join(modelsDir, 'feed-ranker'), { recursive: true });
    const started = await startTestNovaOn('sqlite', { MODELS_DIR: modelsDir });
    if (typeof started === 'string') return void (skip = started);
    t = started;
    await t.client.as(null).register('reasons_admin', 'password-123');
    viewer = (await t.client.newUser('reasons_viewer')).client;
    fresh = (await t.client.newUser('reasons_fresh')).client;
    const followed = (await t.client.newUser('reasons_followed')).user;
    const liked = (await t.client.newUser('reasons_liked')).user.id;
    const other = (await t.client.newUser('reasons_other')).user.id;
    assert.equal((await follow(viewer, followed.username)).status < 300, true);
    const likedOld = await insertReadyVideo(t, liked, 'liked creator old', 96);
    assert.equal((await like(viewer, likedOld)).status, 200);
    ids.followed = await insertReadyVideo(t, followed.id, 'followed new', 100);
    ids.similar = await insertReadyVideo(t, liked, 'liked creator new', 100);
    ids.trending = await insertReadyVideo(t, other, 'much viewed', 100);
    for (let i = 0; i < 8; i++) await recordView(t.client.as(null), ids.trending, `reasons-viewer-${i}xx`);
    ids.fresh = await insertReadyVideo(t, other, 'just out', 1);
    ids.old = await insertReadyVideo(t, other, 'old and quiet', 200);
  });
  after(async () => {
    await t?.stop();
    if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('says why each item is there', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const res = await getFeed(viewer, 20);
    assert.equal(res.status, 200);
    assert.equal(res.body.ranking, 'model');
    const why = new Map(res.body.items.map((i) => [i.id, (i as typeof i & { reason: string }).reason]));
    assert.equal(why.get(ids.followed), 'followed');
    assert.equal(why.get(ids.similar), 'similar_to_liked');
    assert.equal(why.get(ids.trending), 'trending');
    assert.equal(why.get(ids.fresh), 'new');
    assert.equal(why.get(ids.old), 'popular');
  });

  it('gives a viewer with no history every public video, for reasons that are not personal', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const res = await getFeed(fresh, 20);
    assert.equal(res.status, 200);
    const items = res.body.items as Array<(typeof res.body.items)[number] & { reason: string }>;
    for (const id of Object.values(ids))
      assert.ok(
        items.some((i) => i.id === id),
        `missing ${id}`,
      );
    for (const i of items) assert.ok(['trending', 'new', 'popular'].includes(i.reason), `${i.title}: ${i.reason}`);
    // Everyone but the followed creator's new video and the liked one are equal to a newcomer except
    // in age and views: the fresh and the much-viewed video are ahead of the old quiet one.
    const pos = (id: string): number => items.findIndex((i) => i.id === id);
    assert.ok(pos(ids.fresh) < pos(ids.old) && pos(ids.trending) < pos(ids.old), items.map((i) => i.title).join(', '));
  });
});
