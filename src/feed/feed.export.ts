// Writes a trained ranker as an ONNX model plus metadata.json. The graph is the trainer's forward
// pass, op for op: Sub(mean) → Div(std) → MatMul → Add → Relu → MatMul → Add → Sigmoid, with a
// dynamic batch axis, so the feed can send all its candidates in one tensor.
import fs from 'node:fs';
import path from 'node:path';
import { decodeOnnxModel, encodeOnnxModel, ONNX_FLOAT } from '../models/onnx.codec.js';
import { FEATURE_COUNT, FEATURE_NAMES } from './feed.features.js';
import { predictRow, rng, type MlpWeights } from './feed.trainer.js';

export const RANKER_INPUT = 'features';
export const RANKER_OUTPUT = 'score';

export function rankerOnnx(w: MlpWeights, version: number, doc: string): Uint8Array {
  return encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'nova-feed-trainer',
    producerVersion: '1',
    modelVersion: version,
    docString: doc,
    graphName: 'feed_ranker',
    inputs: [{ name: RANKER_INPUT, elemType: ONNX_FLOAT, shape: ['batch', w.f] }],
    outputs: [{ name: RANKER_OUTPUT, elemType: ONNX_FLOAT, shape: ['batch', 1] }],
    nodes: [
      { opType: 'Sub', inputs: [RANKER_INPUT, 'feature_mean'], outputs: ['centered'] },
      { opType: 'Div', inputs: ['centered', 'feature_std'], outputs: ['standardized'] },
      { opType: 'MatMul', inputs: ['standardized', 'w1'], outputs: ['hidden_mm'] },
      { opType: 'Add', inputs: ['hidden_mm', 'b1'], outputs: ['hidden_pre'] },
      { opType: 'Relu', inputs: ['hidden_pre'], outputs: ['hidden'] },
      { opType: 'MatMul', inputs: ['hidden', 'w2'], outputs: ['logit_mm'] },
      { opType: 'Add', inputs: ['logit_mm', 'b2'], outputs: ['logit'] },
      { opType: 'Sigmoid', inputs: ['logit'], outputs: [RANKER_OUTPUT] },
    ],
    initializers: [
      { name: 'feature_mean', dims: [w.f], data: w.mean },
      { name: 'feature_std', dims: [w.f], data: w.std },
      { name: 'w1', dims: [w.f, w.h], data: w.w1 },
      { name: 'b1', dims: [w.h], data: w.b1 },
      { name: 'w2', dims: [w.h, 1], data: w.w2 },
      { name: 'b2', dims: [1], data: w.b2 },
    ],
    metadata: { features: FEATURE_NAMES.join(',') },
  });
}

/** A few fixed rows and the trainer's own outputs for them: reload checks the file reproduces them. */
function warmupSample(w: MlpWeights): { inputs: object; outputs: object } {
  const rand = rng(7);
  const rows = 4;
  const x = Array.from({ length: rows * w.f }, (_, i) => Math.fround(w.mean[i % w.f] + (rand() * 2 - 1) * w.std[i % w.f]));
  const scores = Array.from({ length: rows }, (_, r) => predictRow(w, x, r * w.f));
  return {
    inputs: { [RANKER_INPUT]: { dims: [rows, w.f], data: x } },
    outputs: { [RANKER_OUTPUT]: { dims: [rows, 1], data: scores } },
  };
}

export interface WrittenModel {
  dir: string;
  version: number;
}

/** The next free version number under MODELS_DIR/<name>/. */
export function nextVersion(modelsDir: string, name: string): number {
  const dir = path.join(modelsDir, name);
  if (!fs.existsSync(dir)) return 1;
  const versions = fs
    .readdirSync(dir)
    .filter((e) => /^[1-9]\d*$/.test(e))
    .map(Number);
  return versions.length ? Math.max(...versions) + 1 : 1;
}

export function writeRanker(modelsDir: string, name: string, version: number, w: MlpWeights, training: Record<string, unknown>): WrittenModel {
  if (w.f !== FEATURE_COUNT) throw new Error(`the ranker has ${w.f} features; the feed computes ${FEATURE_COUNT}`);
  const dir = path.join(modelsDir, name, String(version));
  if (fs.existsSync(path.join(dir, 'model.onnx'))) throw new Error(`${dir}/model.onnx exists already; versions are never overwritten`);
  fs.mkdirSync(dir, { recursive: true });
  const doc = `Nova feed ranker: P(engagement | user, video) from ${FEATURE_COUNT} features (${FEATURE_NAMES.join(', ')}).`;
  const metadata = {
    name,
    version,
    description: doc,
    features: FEATURE_NAMES,
    architecture: { type: 'mlp', hidden: w.h, activation: 'relu', output: 'sigmoid' },
    signature: {
      inputs: [{ name: RANKER_INPUT, type: 'float32', shape: ['batch', w.f] }],
      outputs: [{ name: RANKER_OUTPUT, type: 'float32', shape: ['batch', 1] }],
    },
    training,
    warmup: { ...warmupSample(w), tolerance: 1e-5 },
  };
  // Written to a temporary name first: a directory watch must never see half a model.
  const tmp = path.join(dir, `.model.onnx.${process.pid}.tmp`);
  fs.writeFileSync(path.join(dir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  fs.writeFileSync(tmp, rankerOnnx(w, version, doc));
  fs.renameSync(tmp, path.join(dir, 'model.onnx'));
  return { dir, version };
}

/** The weights of a ranker this trainer wrote, read back from its ONNX file (null for any other graph). */
export function readRanker(file: string): MlpWeights | null {
  const m = decodeOnnxModel(new Uint8Array(fs.readFileSync(file)));
  const init = new Map(m.initializers.map((i) => [i.name, i]));
  const need = ['feature_mean', 'feature_std', 'w1', 'b1', 'w2', 'b2'].map((n) => init.get(n));
  if (need.some((i) => !i)) return null;
  const [mean, std, w1, b1, w2, b2] = need as NonNullable<(typeof need)[number]>[];
  if (w1.dims.length !== 2) return null;
  return { f: w1.dims[0], h: w1.dims[1], mean: mean.data, std: std.data, w1: w1.data, b1: b1.data, w2: w2.data, b2: b2.data };
}

/** The highest version on disk (what a server loads at start), or null. */
export function latestVersion(modelsDir: string, name: string): number | null {
  const v = nextVersion(modelsDir, name) - 1;
  return v >= 1 && fs.existsSync(path.join(modelsDir, name, String(v), 'model.onnx')) ? v : null;
}
