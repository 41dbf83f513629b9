// The personalised feed over real HTTP, ranked by the real model process: a user who liked a
// creator's videos gets that creator's new video above an otherwise equal one; own, watched and
// liked videos are left out; a per-request selector picks the model version (as an experiment
// would); without a usable model the feed falls back to trending order and says so. Also the
// trainer end to end (`npm run model:train` on this database writes the next version, which then
// loads). Ready videos are inserted straight into the videos table: the upload pipeline would only
// add minutes of transcoding to a test about ranking.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { like, recordView, reportWatch } from '../src/client/engagement.client.js';
import { getFeed } from '../src/client/feed.client.js';
import { listModels, reloadModel } from '../src/client/models.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { writeRanker } from '../src/feed/feed.export.js';
import type { FeedModelSelector } from '../src/feed/feed.service.js';
import { syntheticDataset } from '../src/feed/feed.synthetic.js';
import { train } from '../src/feed/feed.trainer.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

const insertVideo = insertReadyVideo;

for (const backend of TEST_BACKENDS) {
  describe(`feed (${backend})`, () => {
    let t: TestNova;
    let modelsDir: string;
    let skip: string | false = false;
    let viewer: NovaClient;
    let viewerId: string;
    const ids: Record<string, string> = {};
    // The feed is built with this selector, which asks whatever the running case routes to (the
    // default model while `route` answers null), as an experiment's selector would.
    let route: FeedModelSelector = () => null;
    const feedSelector: FeedModelSelector = (user) => route(user);

    before(async () => {
      // The shipped model, as a fresh install has it.
      modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
      fs.cpSync(path.resolve('models/feed-ranker'), path.join(modelsDir, 'feed-ranker'), { recursive: true });
      const started = await startTestNovaOn(backend, { MODELS_DIR: modelsDir }, { feedSelector });
      if (typeof started === 'string') return void (skip = started);
      t = started;
      await t.client.as(null).register('feed_admin', 'password-123');
      const v = await t.client.newUser('viewer');
      viewer = v.client;
      viewerId = v.user.id;
      const x = (await t.client.newUser('creator_x')).user.id;
      const y = (await t.client.newUser('creator_y')).user.id;
      // The viewer liked and watched three older videos of creator X.
      for (let i = 0; i < 3; i++) {
        const old = await insertVideo(t, x, `x old ${i}`, 72 + i);
        assert.equal((await like(viewer, old)).status, 200);
        assert.equal((await reportWatch(viewer, old, 240)).status, 200);
      }
      // New videos by X and Y, equal in everything but the creator.
      ids.xNew = await insertVideo(t, x, 'x new', 1);
      ids.yNew = await insertVideo(t, y, 'y new', 1);
      ids.own = await insertVideo(t, viewerId, 'my own', 1);
      ids.watched = await insertVideo(t, y, 'y watched', 2);
      await reportWatch(viewer, ids.watched, 100);
      // A slightly older, much-viewed Y video: first in trending order.
      ids.yPopular = await insertVideo(t, y, 'y popular', 4);
      for (let i = 0; i < 6; i++) await recordView(t.client.as(null), ids.yPopular, `popular-viewer-${i}xx`);
    });
    after(async () => {
      await t?.stop();
      if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
    });

    it("ranks a liked creator's new video above an otherwise equal one, with the serving model", async (ctx) => {
      if (skip) return ctx.skip(skip);
      const res = await getFeed(viewer, 10);
      assert.equal(res.status, 200);
      assert.equal(res.body.ranking, 'model');
      assert.equal(res.body.model, 'feed-ranker');
      assert.equal(res.body.model_version, 1);
      assert.equal(res.body.experiment, undefined);
      const order = res.body.items.map((i) => i.id);
      assert.ok(order.includes(ids.xNew) && order.includes(ids.yNew), JSON.stringify(res.body.items));
      assert.ok(order.indexOf(ids.xNew) < order.indexOf(ids.yNew), `x new before y new: ${res.body.items.map((i) => `${i.title}=${i.score}`).join(', ')}`);
      const x = res.body.items.find((i) => i.id === ids.xNew)!;
      const y = res.body.items.find((i) => i.id === ids.yNew)!;
      assert.ok(x.score > y.score);
      for (const excluded of [ids.own, ids.watched]) assert.ok(!order.includes(excluded), 'own and watched videos are left out');
      assert.ok(
        res.body.items.every((i) => !i.title.startsWith('x old')),
        'liked videos are left out',
      );
      assert.equal((await getFeed(viewer, 1)).body.items.length, 1);
    });

    it('lets a selector pick the model version per request (as an experiment does)', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const data = syntheticDataset({ seed: 5, creators: 10, videos: 100, users: 50, historyPerUser: 20, examplesPerUser: 10 });
      writeRanker(modelsDir, 'feed-ranker', 2, train(data, { hidden: 16, epochs: 2, batchSize: 64, learningRate: 0.01, l2: 0, seed: 5 }), { source: 'test' });
      route = (user) => (user.id === viewerId ? { model: 'feed-ranker', version: 2, experiment: 'ranker-v2', variant: 'treatment' } : null);
      try {
        const res = await getFeed(viewer, 10);
        assert.equal(res.status, 200);
        assert.equal(res.body.ranking, 'model');
        assert.equal(res.body.model_version, 2);
        assert.equal(res.body.experiment, 'ranker-v2');
        assert.equal(res.body.variant, 'treatment');
        // Everyone else still gets the serving version, which is unchanged.
        const other = await t.client.newUser('control');
        assert.equal((await getFeed(other.client)).body.model_version, 1);
        const served = (await listModels(t.client)).body.models.find((m) => m.name === 'feed-ranker')!;
        assert.equal(served.version, 1);
        assert.deepEqual(served.extra_versions, [2]);
      } finally {
        route = () => null;
      }
    });

    it('falls back to trending order when no model can rank, and says so', async (ctx) => {
      if (skip) return ctx.skip(skip);
      route = () => ({ model: 'not-served', experiment: 'exp', variant: 'broken' });
      try {
        const res = await getFeed(viewer, 10);
        assert.equal(res.status, 200);
        assert.equal(res.body.ranking, 'fallback');
        assert.equal(res.body.model_version, null);
        assert.equal(res.body.variant, 'broken');
        assert.equal(res.body.items[0].id, ids.yPopular, 'the most-viewed video leads the trending order');
        const scores = res.body.items.map((i) => i.score);
        assert.deepEqual(
          scores,
          [...scores].sort((a, b) => b - a),
        );
      } finally {
        route = () => null;
      }
    });

    it('requires a signed-in user and a sane limit', async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.equal((await getFeed(t.client.as(null))).status, 401);
      assert.equal((await getFeed(viewer, 0)).status, 400);
      assert.equal((await getFeed(viewer, 10_000)).status, 400);
    });

    it('`npm run model:train` learns from this database and writes a version that loads', { skip: backend === 'postgres' ? 'once is enough' : false }, async (ctx) => {
      if (skip) return ctx.skip(skip);
      // Run without blocking: the Nova under test keeps serving (and timing out idle keep-alive
      // sockets) meanwhile, as it would beside a real training run.
      const run = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'npm',
          ['run', '--silent', 'model:train', '--', '--min-positives', '1', '--epochs', '5'],
          {
            env: { ...process.env, DATA_DIR: t.dataDir, MODELS_DIR: modelsDir, LOG_LEVEL: 'silent' },
            encoding: 'utf8',
            timeout: 120_000,
          },
          (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /feed-ranker v3 written/);
      const meta = JSON.parse(fs.readFileSync(path.join(modelsDir, 'feed-ranker', '3', 'metadata.json'), 'utf8'));
      assert.equal(meta.training.source, 'database');
      assert.ok(meta.training.database.positives >= 3, JSON.stringify(meta.training));
      const admin = t.client.as(null);
      await admin.login('feed_admin', 'password-123');
      const reload = await reloadModel(admin, 'feed-ranker', {});
      assert.equal(reload.status, 200, JSON.stringify(reload.body));
      assert.equal(reload.body.model.version, 3);
      const res = await getFeed(viewer, 10);
      assert.equal(res.body.ranking, 'model');
      assert.equal(res.body.model_version, 3);
    });
  });
}
