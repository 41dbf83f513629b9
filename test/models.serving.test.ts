// Model serving over real HTTP with real ONNX Runtime processes: the shipped ranker against a
// reference computed here from its initializers, input validation, access rules, reload under
// concurrent load, refusals (corrupt file, wrong weights, wrong signature, paths outside the
// repository), serving a new model from a path, batching, metrics, the directory watch, and the
// event loop staying free while a large batch runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { infer, listModels, reloadModel } from '../src/client/models.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { writeRanker } from '../src/feed/feed.export.js';
import { syntheticDataset } from '../src/feed/feed.synthetic.js';
import { train } from '../src/feed/feed.trainer.js';
import type { ModelsCapability } from '../src/models/models.routes.js';
import { decodeOnnxModel, encodeOnnxModel, ONNX_FLOAT, type OnnxNode } from '../src/models/onnx.codec.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

const SHIPPED = path.resolve('models/feed-ranker/1');

/** The shipped ranker by hand: standardise, dense + ReLU, dense, sigmoid, in float64. */
function referenceScores(file: string, x: number[], rows: number): number[] {
  const m = decodeOnnxModel(fs.readFileSync(file));
  assert.deepEqual(
    m.nodes.map((n) => n.opType),
    ['Sub', 'Div', 'MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Sigmoid'],
    'the graph the reference implements',
  );
  const w = Object.fromEntries(m.initializers.map((t) => [t.name, t]));
  const f = w.w1.dims[0];
  const h = w.w1.dims[1];
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let z = w.b2.data[0];
    for (let k = 0; k < h; k++) {
      let a = w.b1.data[k];
      for (let j = 0; j < f; j++) a += ((x[r * f + j] - w.feature_mean.data[j]) / w.feature_std.data[j]) * w.w1.data[j * h + k];
      z += Math.max(0, a) * w.w2.data[k];
    }
    out.push(1 / (1 + Math.exp(-z)));
  }
  return out;
}

function affineModel(): Uint8Array {
  // y = x * 2 + 1 over [batch, 3]: a model Nova has never seen.
  return encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'test',
    producerVersion: '1',
    modelVersion: 1,
    docString: '',
    graphName: 'affine',
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, shape: ['n', 3] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, shape: ['n', 3] }],
    nodes: [
      { opType: 'Mul', inputs: ['x', 'two'], outputs: ['x2'] },
      { opType: 'Add', inputs: ['x2', 'one'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'two', dims: [1], data: Float32Array.of(2) },
      { name: 'one', dims: [1], data: Float32Array.of(1) },
    ],
    metadata: {},
  });
}

/** Wide and deep with one shared weight: lots of compute for a small input. */
function heavyModel(din: number, width: number, layers: number): Uint8Array {
  const nodes: OnnxNode[] = [{ opType: 'MatMul', inputs: ['x', 'w_in'], outputs: ['h0'] }];
  for (let l = 0; l < layers; l++) {
    nodes.push({ opType: 'MatMul', inputs: [`h${l}`, 'w'], outputs: [`m${l}`] });
    nodes.push({ opType: 'Relu', inputs: [`m${l}`], outputs: [`h${l + 1}`] });
  }
  nodes.push({ opType: 'MatMul', inputs: [`h${layers}`, 'w_out'], outputs: ['y'] });
  const wave = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * s);
  return encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'test',
    producerVersion: '1',
    modelVersion: 1,
    docString: '',
    graphName: 'heavy',
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, shape: ['batch', din] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, shape: ['batch', 1] }],
    nodes,
    initializers: [
      { name: 'w_in', dims: [din, width], data: wave(din * width, 1 / Math.sqrt(din)) },
      { name: 'w', dims: [width, width], data: wave(width * width, 1 / Math.sqrt(width)) },
      { name: 'w_out', dims: [width, 1], data: wave(width, 0.01) },
    ],
    metadata: {},
  });
}

const ROW = [0.7, 1.2, 3.1, 1.5, 0.2, 0.6, 2.0, 1.6, 1];

describe('model serving', () => {
  let t: TestNova;
  let admin: NovaClient;
  let modelsDir: string;
  let outside: string;

  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-allowed-'));
    fs.mkdirSync(path.join(modelsDir, 'feed-ranker', '1'), { recursive: true });
    for (const f of ['model.onnx', 'metadata.json']) fs.copyFileSync(path.join(SHIPPED, f), path.join(modelsDir, 'feed-ranker', '1', f));
    // A lone request waits up to 20 ms for company: the concurrent requests below come through HTTP
    // in this same process about a millisecond apart (more on a busy machine), and must still meet.
    t = await startTestNova({ MODELS_DIR: modelsDir, MODELS_ALLOWED_PATHS: outside, MODEL_MAX_QUEUE_DELAY_US: '20000' });
    admin = t.client.as(null);
    await admin.register('model_admin', 'password-123');
  });
  after(async () => {
    await t?.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('serves the shipped ranker; its outputs equal the weights applied by hand (1e-5)', async () => {
    const list = await listModels(t.client.as(null));
    assert.equal(list.status, 200);
    const ranker = list.body.models.find((m) => m.name === 'feed-ranker');
    assert.ok(ranker);
    assert.equal(ranker.version, 1);
    assert.equal(ranker.path, 'feed-ranker/1/model.onnx');
    assert.deepEqual(ranker.inputs, [{ name: 'features', type: 'float32', shape: ['batch', 9] }]);
    assert.deepEqual(ranker.outputs, [{ name: 'score', type: 'float32', shape: ['batch', 1] }]);
    const rows = 3;
    const x = [...ROW, ...ROW.map((v) => v * 0.5), ...ROW.map((v, i) => (i % 2 ? v : 0))].map(Math.fround);
    const res = await infer(admin, 'feed-ranker', { features: { dims: [rows, 9], data: x } });
    assert.equal(res.status, 200);
    assert.equal(res.body.model_version, 1);
    assert.deepEqual(res.body.outputs.score.dims, [rows, 1]);
    assert.ok(res.body.latency_ms > 0);
    const want = referenceScores(path.join(SHIPPED, 'model.onnx'), x, rows);
    for (let i = 0; i < rows; i++) assert.ok(Math.abs(res.body.outputs.score.data[i] - want[i]) <= 1e-5, `row ${i}: ${res.body.outputs.score.data[i]} vs ${want[i]}`);
    // Nested rows are accepted too.
    const nested = await infer(admin, 'feed-ranker', { features: { dims: [1, 9], data: [ROW] } });
    assert.equal(nested.status, 200);
  });

  it('checks who may infer or reload', async () => {
    const anon = await infer(t.client.as(null), 'feed-ranker', { features: { dims: [1, 9], data: ROW } });
    assert.equal(anon.status, 401);
    const { client: user } = await t.client.newUser('plain');
    assert.equal((await infer(user, 'feed-ranker', { features: { dims: [1, 9], data: ROW } })).status, 403);
    assert.equal((await reloadModel(user, 'feed-ranker', {})).status, 403);
  });

  it('refuses bad tensors with field-level 400s', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ features: { dims: [1, 8], data: ROW.slice(0, 8) } }, 'inputs.features.dims', /expects 9/],
      [{ features: { dims: [2, 9], data: ROW } }, 'inputs.features.data', /9 values but dims \[2, 9\] need 18/],
      [{ features: { dims: [1, 9], data: [...ROW.slice(0, 8), 'x'] } }, 'inputs.features.data', /not a finite number/],
      [{ features: { dims: [9], data: ROW } }, 'inputs.features.dims', /1 dimensions/],
      [{}, 'inputs.features', /required/],
      [{ features: { dims: [1, 9], data: ROW }, extra: { dims: [1], data: [1] } }, 'inputs.extra', /not an input/],
    ];
    for (const [inputs, field, detail] of cases) {
      const res = await admin.post<Problem>('/api/v1/models/feed-ranker/infer', { inputs });
      assert.equal(res.status, 400, JSON.stringify(inputs));
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.ok(
        res.body.errors?.some((e) => e.field === field && detail.test(e.message)),
        JSON.stringify(res.body),
      );
    }
    const tooMany = await admin.post<Problem>('/api/v1/models/feed-ranker/infer', { inputs: { features: { dims: [1_000_000, 9], data: [] } } });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.errors![0].message, /MODEL_INFER_MAX_ELEMENTS/);
    assert.equal((await infer(admin, 'no-such-model', { x: { dims: [1], data: [1] } })).status, 404);
  });

  it('joins concurrent requests into batches and splits the results back correctly', async () => {
    const before = (await listModels(admin)).body.models.find((m) => m.name === 'feed-ranker')!;
    const n = 32;
    const inputs = Array.from({ length: n }, (_, i) => ROW.map((v, j) => Math.fround(v * (1 + ((i * 7 + j) % 5) / 4))));
    const results = await Promise.all(inputs.map((x) => infer(admin, 'feed-ranker', { features: { dims: [1, 9], data: x } })));
    const file = path.join(modelsDir, 'feed-ranker', '1', 'model.onnx');
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.ok(Math.abs(r.body.outputs.score.data[0] - referenceScores(file, inputs[i], 1)[0]) <= 1e-5, `request ${i} got another request's score`);
    });
    const now = (await listModels(admin)).body.models.find((m) => m.name === 'feed-ranker')!;
    assert.equal(now.inference_count, before.inference_count + n);
    assert.equal(now.batching, true);
    assert.ok(now.avg_batch_size! > 1, `average batch size ${now.avg_batch_size}`);
    for (const k of ['avg_latency_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'avg_queue_ms', 'avg_compute_ms'] as const) assert.equal(typeof now[k], 'number', k);
    assert.ok(now.p50_ms! <= now.p95_ms! && now.p95_ms! <= now.p99_ms!);
    const metrics = await t.client.get<string>('/metrics');
    assert.match(metrics.body, /nova_model_inferences_total\{model="feed-ranker"\} \d+/);
    assert.match(metrics.body, /nova_model_inference_duration_seconds_bucket\{le="[^"]+",model="feed-ranker",phase="queue"\}/);
    assert.match(metrics.body, /nova_model_latency_window_ms\{model="feed-ranker",quantile="0.99"\}/);
    assert.match(metrics.body, /nova_model_batch_size_sum\{model="feed-ranker"\}/);
  });

  it('reloads to a new version under concurrent load: no failed request, one switch', async () => {
    // Version 2: the real trainer on a small synthetic world with another seed.
    const data = syntheticDataset({ seed: 9, creators: 10, videos: 100, users: 50, historyPerUser: 20, examplesPerUser: 10 });
    writeRanker(modelsDir, 'feed-ranker', 2, train(data, { hidden: 16, epochs: 2, batchSize: 64, learningRate: 0.01, l2: 0, seed: 9 }), { source: 'test' });
    const requesters = 8;
    let reloadStarted = Infinity;
    let reloadEnded = Infinity;
    let stop = false;
    const seen: Array<Array<{ start: number; end: number; status: number; version: number }>> = Array.from({ length: requesters }, () => []);
    const load = seen.map(async (log) => {
      let after = 0;
      while (!stop || after < 10) {
        const start = performance.now();
        const r = await infer(admin, 'feed-ranker', { features: { dims: [1, 9], data: ROW } });
        const end = performance.now();
        log.push({ start, end, status: r.status, version: r.body.model_version });
        if (stop) after++;
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    reloadStarted = performance.now();
    const reload = await reloadModel(admin, 'feed-ranker', { version: 2 });
    reloadEnded = performance.now();
    stop = true;
    await Promise.all(load);
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    assert.equal(reload.body.model.version, 2);
    assert.equal(reload.body.previous_version, 1);
    const all = seen.flat();
    assert.ok(all.length > requesters * 10);
    assert.deepEqual(
      all.filter((r) => r.status !== 200),
      [],
      'no failed requests',
    );
    for (const log of seen) {
      const versions = log.map((r) => r.version);
      const switches = versions.filter((v, i) => i > 0 && v !== versions[i - 1]).length;
      assert.equal(switches, 1, `one switch per requester: ${versions.join(',')}`);
      assert.deepEqual([...new Set(versions)], [1, 2]);
    }
    assert.ok(all.filter((r) => r.end < reloadStarted).every((r) => r.version === 1));
    assert.ok(all.filter((r) => r.start > reloadEnded).every((r) => r.version === 2));
    const served = (await listModels(admin)).body.models.find((m) => m.name === 'feed-ranker')!;
    assert.equal(served.version, 2);
  });

  it('refuses a corrupt file, wrong weights and a wrong signature with 422; the old version keeps serving', async () => {
    const dir = (v: number) => {
      const d = path.join(modelsDir, 'feed-ranker', String(v));
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    fs.writeFileSync(path.join(dir(3), 'model.onnx'), Buffer.from('this is not an onnx model at all'));
    const corrupt = await reloadModel(admin, 'feed-ranker', { version: 3 });
    assert.equal(corrupt.status, 422);
    assert.match((corrupt.body as unknown as Problem).detail, /not a loadable ONNX model/);
    assert.ok(!JSON.stringify(corrupt.body).includes(modelsDir), 'no server paths in the answer');
    // Version 2's weights with version 1's recorded warm-up outputs: loads, but computes other numbers.
    fs.copyFileSync(path.join(modelsDir, 'feed-ranker', '2', 'model.onnx'), path.join(dir(4), 'model.onnx'));
    fs.copyFileSync(path.join(modelsDir, 'feed-ranker', '1', 'metadata.json'), path.join(dir(4), 'metadata.json'));
    const wrongWeights = await reloadModel(admin, 'feed-ranker', { version: 4 });
    assert.equal(wrongWeights.status, 422);
    assert.match((wrongWeights.body as unknown as Problem).detail, /warm-up.*weights differ/);
    fs.writeFileSync(path.join(dir(5), 'model.onnx'), affineModel());
    const wrongSig = await reloadModel(admin, 'feed-ranker', { version: 5 });
    assert.equal(wrongSig.status, 422);
    assert.match((wrongSig.body as unknown as Problem).detail, /input "features" is missing/);
    assert.equal((await reloadModel(admin, 'feed-ranker', { version: 99 })).status, 404);
    const still = await infer(admin, 'feed-ranker', { features: { dims: [1, 9], data: ROW } });
    assert.equal(still.status, 200);
    assert.equal(still.body.model_version, 2);
    for (const v of [3, 4, 5]) fs.rmSync(path.join(modelsDir, 'feed-ranker', String(v)), { recursive: true });
  });

  it('reads files only under MODELS_DIR or MODELS_ALLOWED_PATHS', async () => {
    for (const p of ['/etc/passwd', '../../etc/passwd', path.join(os.tmpdir(), 'elsewhere.onnx')]) {
      const res = await reloadModel(admin, 'feed-ranker', { path: p });
      assert.equal(res.status, 403, p);
      assert.match((res.body as unknown as Problem).detail, /MODELS_DIR/);
    }
    // A symlink inside the repository pointing outside is refused too.
    fs.symlinkSync('/etc/hostname', path.join(modelsDir, 'escape.onnx'));
    assert.equal((await reloadModel(admin, 'feed-ranker', { path: 'escape.onnx' })).status, 403);
    assert.equal((await reloadModel(admin, 'feed-ranker', { path: 'missing/model.onnx' })).status, 404);
    assert.equal((await reloadModel(admin, 'feed-ranker', { path: 'feed-ranker/1/model.onnx', version: 1 })).status, 400);
  });

  it('serves a model it has never seen from a path, with the signature read from the file', async () => {
    const file = path.join(outside, 'affine.onnx');
    fs.writeFileSync(file, affineModel());
    assert.equal((await reloadModel(admin, 'affine', {})).status, 404);
    const res = await reloadModel(admin, 'affine', { path: file });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model.version, 1);
    assert.equal(res.body.previous_version, null);
    assert.deepEqual(res.body.model.inputs, [{ name: 'x', type: 'float32', shape: ['n', 3] }]);
    const out = await infer(admin, 'affine', { x: { dims: [2, 3], data: [1, 2, 3, -1, 0, 0.5] } });
    assert.equal(out.status, 200);
    assert.deepEqual(out.body.outputs.y, { dims: [2, 3], data: [3, 5, 7, -1, 1, 2] });
    // The path is shown to admins; others see only the file name.
    const publicList = await listModels(t.client.as(null));
    assert.match(publicList.body.models.find((m) => m.name === 'affine')!.path, /^\(outside MODELS_DIR\)\/affine\.onnx$/);
    assert.equal((await listModels(admin)).body.models.find((m) => m.name === 'affine')!.path, file);
  });

  it('keeps the event loop free while a large batch runs in the model process', async () => {
    const file = path.join(outside, 'heavy.onnx');
    fs.writeFileSync(file, heavyModel(64, 1024, 16));
    assert.equal((await reloadModel(admin, 'heavy', { path: file })).status, 200);
    const service = (t.nova.capabilities.find((c) => c.name === 'models') as ModelsCapability).service;
    const rows = 1024;
    const x = new Float32Array(rows * 64).fill(0.25);
    // The API keeps serving HTTP (to itself) while the event loop's delay is recorded.
    const serveWhile = async (busy: () => boolean) => {
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      let answered = 0;
      while (busy()) {
        assert.equal((await t.client.get('/healthz')).status, 200);
        answered++;
      }
      h.disable();
      return { answered, maxDelayMs: h.max / 1e6 };
    };
    const attempt = async () => {
      const started = performance.now();
      let done = false;
      const big = service.run('heavy', { x: { type: 'float32', dims: [rows, 64], data: x } });
      void big.finally(() => (done = true)).catch(() => undefined);
      const during = await serveWhile(() => !done);
      const result = await big;
      const wall = performance.now() - started;
      assert.deepEqual(result.outputs.y.dims, [rows, 1]);
      // The same traffic for as long without a batch, while another process keeps one core busy
      // as the model process did: what the machine alone does to this process. (On a machine
      // whose other tenants already fill every core, any busy process costs the API process
      // scheduler time slices; that is not the event loop being blocked.)
      const control = await withBusyCore(wall, async (until) => serveWhile(() => performance.now() < until));
      return { wall, answered: during.answered, maxDelayMs: during.maxDelayMs, controlMs: control.maxDelayMs };
    };
    // These machines are shared, so other tenants can stall any process for tens of ms. A run
    // blocked by inference would stall for the whole batch: every run must show it was not (stall
    // below half the batch time); and the 20 ms bound must hold in one of up to five runs, unless
    // in one of them the machine stalled this process as long without a batch, with a plain busy
    // process in its place (then the stall is the machine's, not inference's).
    const runs: Array<{ wall: number; answered: number; maxDelayMs: number; controlMs: number }> = [];
    for (let i = 0; i < 5; i++) {
      const r = await attempt();
      runs.push(r);
      assert.ok(r.wall >= 100, `the batch ran long enough to matter (${r.wall.toFixed(0)} ms)`);
      assert.ok(r.answered >= 5, `HTTP kept answering during the batch (${r.answered})`);
      assert.ok(r.maxDelayMs < r.wall / 2, `event loop stalled ${r.maxDelayMs.toFixed(1)} ms during a ${r.wall.toFixed(0)} ms batch`);
      if (r.maxDelayMs < 20 || r.maxDelayMs <= r.controlMs) break;
    }
    console.log(
      `# event loop max delay per run: ${runs.map((r) => `${r.maxDelayMs.toFixed(1)} ms during a ${r.wall.toFixed(0)} ms batch (${r.controlMs.toFixed(1)} ms with a busy process instead)`).join('; ')}`,
    );
    assert.ok(
      runs.some((r) => r.maxDelayMs < 20 || r.maxDelayMs <= r.controlMs),
      'max event-loop delay under 20 ms while a large batch runs, or no longer than the same run without a batch',
    );
  });
});

/** Runs `fn` while a child process spins on one core for `ms` (from when it starts spinning). */
async function withBusyCore<T>(ms: number, fn: (until: number) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['-e', `process.stdout.write('spinning\\n'); const end = Date.now() + ${Math.ceil(ms)}; while (Date.now() < end);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(child.stdout!, 'data');
    return await fn(performance.now() + ms);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('model directory watch', () => {
  let t: TestNova;
  let modelsDir: string;
  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.mkdirSync(path.join(modelsDir, 'feed-ranker', '1'), { recursive: true });
    for (const f of ['model.onnx', 'metadata.json']) fs.copyFileSync(path.join(SHIPPED, f), path.join(modelsDir, 'feed-ranker', '1', f));
    t = await startTestNova({ MODELS_DIR: modelsDir, MODELS_WATCH_INTERVAL_MS: '200' });
  });
  after(async () => {
    await t?.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('picks up a new version dropped into MODELS_DIR (directory watch)', async () => {
    const data = syntheticDataset({ seed: 11, creators: 10, videos: 100, users: 50, historyPerUser: 20, examplesPerUser: 10 });
    writeRanker(modelsDir, 'feed-ranker', 2, train(data, { hidden: 16, epochs: 1, batchSize: 64, learningRate: 0.01, l2: 0, seed: 11 }), { source: 'test' });
    const deadline = Date.now() + 30_000;
    let version = 0;
    while (Date.now() < deadline) {
      version = (await listModels(t.client)).body.models.find((m) => m.name === 'feed-ranker')!.version;
      if (version === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(version, 2);
  });
});
