// The per-viewer feed cache and cursors over real HTTP: a like invalidates the liker's cached list
// at once (the liked video leaves their next feed, another viewer's list is untouched), pages of one
// session never repeat an item and together hold the whole list, and a cursor that is not the
// viewer's own or is made up answers 400.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { like } from '../src/client/engagement.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { startTestNovaOn, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

type Page = { items: Array<{ id: string }>; next_cursor: string | null };

describe('feed cache and pagination', () => {
  let t: TestNova;
  let modelsDir: string;
  let skip: string | false = false;
  let viewer: NovaClient;
  let other: NovaClient;

  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.cpSync(path.resolve('models/feed-ranker'), path.join(modelsDir, 'feed-ranker'), { recursive: true });
    const started = await startTestNovaOn('sqlite', { MODELS_DIR: modelsDir });
    if (typeof started === 'string') return void (skip = started);
    t = started;
    await t.client.as(null).register('cache_admin', 'password-123');
    viewer = (await t.client.newUser('cache_viewer')).client;
    other = (await t.client.newUser('cache_other')).client;
    const creator = (await t.client.newUser('cache_creator')).user.id;
    for (let i = 0; i < 7; i++) await insertReadyVideo(t, creator, `video ${i}`, 1 + i * 5);
  });
  after(async () => {
    await t?.stop();
    if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  const page = async (c: NovaClient, query: string): Promise<{ status: number; body: Page }> => {
    const res = await c.get<Page>(`/api/v1/feed?${query}`);
    return { status: res.status, body: res.body };
  };

  it('a like shows up in the next feed, though the list is cached', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const first = await page(viewer, 'limit=10');
    const again = await page(viewer, 'limit=10');
    assert.deepEqual(
      again.body.items.map((i) => i.id),
      first.body.items.map((i) => i.id),
    );
    const otherBefore = (await page(other, 'limit=10')).body.items.map((i) => i.id);
    const top = first.body.items[0].id;
    assert.equal((await like(viewer, top)).status, 200);
    const next = await page(viewer, 'limit=10');
    assert.equal(next.body.items.length, first.body.items.length - 1);
    assert.ok(!next.body.items.some((i) => i.id === top), 'the liked video is still in the feed');
    assert.deepEqual(
      (await page(other, 'limit=10')).body.items.map((i) => i.id),
      otherBefore,
    );
  });

  it('pages of one session do not repeat items and cover the list', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const whole = (await page(other, 'limit=50')).body.items.map((i) => i.id);
    assert.equal(whole.length, 7);
    const seen: string[] = [];
    let res = await page(other, 'limit=2');
    for (let n = 0; n < 10; n++) {
      assert.equal(res.status, 200);
      seen.push(...res.body.items.map((i) => i.id));
      if (!res.body.next_cursor) break;
      // Activity of someone else between pages changes nothing for this session.
      await like(viewer, res.body.items[0].id);
      res = await page(other, `limit=2&cursor=${encodeURIComponent(res.body.next_cursor)}`);
    }
    assert.equal(new Set(seen).size, seen.length, `repeated: ${seen.join(',')}`);
    assert.deepEqual(seen, whole);
  });

  it('refuses a made-up cursor or another viewer’s', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const mine = (await page(other, 'limit=2')).body.next_cursor!;
    for (const cursor of ['nonsense', 'zzzz.2', mine]) {
      const res = await viewer.get<{ detail: string }>(`/api/v1/feed?limit=2&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, cursor);
      assert.match(res.body.detail, /cursor/);
    }
  });
});
