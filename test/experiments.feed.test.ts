// Experiments drive the product: a running "feed-ranker" experiment picks each user's ranking
// model version (named in the feed response), and a like counts as that user's conversion.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { experiments } from '../src/client/experiments.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { variantModel } from '../src/experiments/feed-experiment.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

interface Feed {
  items: Array<{ id: string }>;
  model_version: number | null;
  ranking: string;
  experiment?: string;
  variant?: string;
}

async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('feed experiment', () => {
  let t: TestNova;
  let admin: NovaClient;
  let modelsDir: string;
  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    // Versions 1 and 2 of the shipped ranker: the experiment routes users between them.
    fs.cpSync(path.resolve('models/feed-ranker/1'), path.join(modelsDir, 'feed-ranker/1'), { recursive: true });
    fs.cpSync(path.resolve('models/feed-ranker/1'), path.join(modelsDir, 'feed-ranker/2'), { recursive: true });
    t = await startTestNova({ MODELS_DIR: modelsDir });
    admin = (await t.client.newUser('admin')).client;
  });
  after(async () => {
    await t.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('maps variant keys to models', () => {
    const served = (n: string) => n === 'other-ranker';
    assert.deepEqual(variantModel('v2', 'feed-ranker', served), { model: 'feed-ranker', version: 2 });
    assert.deepEqual(variantModel('other-ranker', 'feed-ranker', served), { model: 'other-ranker' });
    assert.deepEqual(variantModel('other-ranker@3', 'feed-ranker', served), { model: 'other-ranker', version: 3 });
    assert.deepEqual(variantModel('control', 'feed-ranker', served), { model: 'feed-ranker' });
  });

  it('without an experiment the feed names none', async () => {
    const { client } = await t.client.newUser('plain');
    const feed = await client.get<Feed>('/api/v1/feed');
    assert.equal(feed.status, 200);
    assert.equal(feed.body.experiment, undefined);
  });

  it('each user is ranked by their variant, stickily, and a like converts', async () => {
    const created = await experiments.create(admin, {
      key: 'feed-ranker',
      variants: [
        { key: 'v1', weight: 50 },
        { key: 'v2', weight: 50 },
      ],
      traffic_percent: 100,
      metric: 'engagement',
    });
    assert.equal(created.status, 201);
    const { user: creator } = await t.client.newUser('creator');
    const video = await insertReadyVideo(t, creator.id, 'something to like');
    const seen = new Set<string>();
    const users: Array<{ client: NovaClient; variant: string }> = [];
    for (let i = 0; i < 8; i++) {
      const { client } = await t.client.newUser(`u${i}`);
      // The selector caches the experiment for a few seconds; poll until the feed names it.
      const feed = await poll(
        () => client.get<Feed>('/api/v1/feed'),
        (r) => r.body.experiment === 'feed-ranker',
      );
      assert.equal(feed.body.experiment, 'feed-ranker');
      assert.equal(feed.body.ranking, 'model');
      const variant = feed.body.variant!;
      assert.equal(feed.body.model_version, Number(variant.slice(1)), 'the variant picked the model version');
      const again = await client.get<Feed>('/api/v1/feed');
      assert.equal(again.body.variant, variant);
      assert.equal((await experiments.assignment(client, 'feed-ranker')).body.variant, variant);
      seen.add(variant);
      users.push({ client, variant });
    }
    assert.ok(seen.size >= 1);
    const liker = users[0];
    assert.equal((await liker.client.put(`/api/v1/videos/${video}/like`)).status < 300, true);
    const results = await poll(
      () => experiments.results(t.client, 'feed-ranker'),
      (r) => r.body.variants.some((v) => v.conversions > 0),
    );
    const row = results.body.variants.find((v) => v.key === liker.variant)!;
    assert.equal(row.conversions, 1);
    assert.equal(
      results.body.variants.reduce((s, v) => s + v.users, 0),
      8,
    );
  });
});
