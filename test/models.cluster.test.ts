// Two API processes on one Redis and one model repository: a reload made through one is repeated
// by the other; a refused reload is not. Also the model settings' validation.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listModels, reloadModel } from '../src/client/models.client.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { writeRanker } from '../src/feed/feed.export.js';
import { syntheticDataset } from '../src/feed/feed.synthetic.js';
import { train } from '../src/feed/feed.trainer.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

describe('model settings', () => {
  it('have defaults and refuse bad values with the variable named', () => {
    const c = loadConfig({});
    assert.equal(c.models.batching, true);
    assert.equal(c.models.maxQueueDelayUs, 500);
    assert.equal(c.models.metricsWindow, 1000);
    assert.equal(c.feed.model, 'feed-ranker');
    assert.equal(c.engagement.viewDedupSeconds, 1800);
    const bad: Array<[Record<string, string>, string]> = [
      [{ MODELS_ALLOWED_PATHS: 'relative/dir' }, 'MODELS_ALLOWED_PATHS'],
      [{ MODEL_MAX_BATCH_SIZE: '0' }, 'MODEL_MAX_BATCH_SIZE'],
      [{ MODEL_METRICS_WINDOW: '10' }, 'MODEL_METRICS_WINDOW'],
      [{ MODEL_BATCHING: 'maybe' }, 'MODEL_BATCHING'],
      [{ FEED_MODEL: '../etc' }, 'FEED_MODEL'],
      [{ VIEW_DEDUP_SECONDS: 'soon' }, 'VIEW_DEDUP_SECONDS'],
    ];
    for (const [env, variable] of bad) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && err.variable === variable,
        variable,
      );
    }
  });
});

describe('model reloads across API processes', () => {
  let skip: string | false = false;
  let a: TestNova;
  let b: TestNova;
  let modelsDir: string;

  before(async () => {
    const u = new URL(REDIS_TEST_URL);
    skip = await requireServer('Redis', u.hostname, Number(u.port || 6379));
    if (skip) return;
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.cpSync(path.resolve('models/feed-ranker/1'), path.join(modelsDir, 'feed-ranker', '1'), { recursive: true });
    const shared = { MODELS_DIR: modelsDir, REDIS_URL: REDIS_TEST_URL, QUEUE_PREFIX: `nova-test-${process.pid}-${Date.now().toString(36)}` };
    a = await startTestNova(shared);
    b = await startTestNova(shared);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('a reload through one process is followed by the other', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const admin = a.client.as(null);
    await admin.register('cluster_admin', 'password-123');
    const data = syntheticDataset({ seed: 3, creators: 10, videos: 100, users: 50, historyPerUser: 20, examplesPerUser: 10 });
    writeRanker(modelsDir, 'feed-ranker', 2, train(data, { hidden: 16, epochs: 1, batchSize: 64, learningRate: 0.01, l2: 0, seed: 3 }), { source: 'test' });
    fs.mkdirSync(path.join(modelsDir, 'feed-ranker', '3'));
    fs.writeFileSync(path.join(modelsDir, 'feed-ranker', '3', 'model.onnx'), 'not a model');
    assert.equal((await reloadModel(admin, 'feed-ranker', { version: 3 })).status, 422);
    const ok = await reloadModel(admin, 'feed-ranker', { version: 2 });
    assert.equal(ok.status, 200);
    const versionOnB = async () => (await listModels(b.client)).body.models.find((m) => m.name === 'feed-ranker')?.version;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await versionOnB()) !== 2) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await versionOnB(), 2);
  });
});
