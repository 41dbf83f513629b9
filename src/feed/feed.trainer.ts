// A small MLP ranker (features → standardise → dense+ReLU → dense → sigmoid) trained with Adam on
// binary cross-entropy, in plain TypeScript: the model is tiny, so a numeric library would add
// weight without speed. Deterministic for a given seed.

export interface Dataset {
  x: Float32Array; // [n, f] row-major
  y: Uint8Array; // 0/1 labels
  n: number;
  f: number;
}

export interface MlpWeights {
  f: number;
  h: number;
  mean: Float32Array; // [f]
  std: Float32Array; // [f]
  w1: Float32Array; // [f, h] row-major
  b1: Float32Array; // [h]
  w2: Float32Array; // [h, 1]
  b2: Float32Array; // [1]
}

export interface TrainOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function standardisation(d: Dataset): { mean: Float32Array; std: Float32Array } {
  const mean = new Float64Array(d.f);
  const sq = new Float64Array(d.f);
  for (let i = 0; i < d.n; i++) for (let j = 0; j < d.f; j++) mean[j] += d.x[i * d.f + j];
  for (let j = 0; j < d.f; j++) mean[j] /= Math.max(1, d.n);
  for (let i = 0; i < d.n; i++) for (let j = 0; j < d.f; j++) sq[j] += (d.x[i * d.f + j] - mean[j]) ** 2;
  const std = new Float64Array(d.f);
  // A constant feature keeps std 1 so the model divides by something harmless.
  for (let j = 0; j < d.f; j++) std[j] = Math.sqrt(sq[j] / Math.max(1, d.n)) || 1;
  return { mean: Float32Array.from(mean), std: Float32Array.from(std) };
}

/** The model's output for one row, computed the way the ONNX graph does (float64 here). */
export function predictRow(w: MlpWeights, x: ArrayLike<number>, offset = 0): number {
  let out = w.b2[0];
  for (let k = 0; k < w.h; k++) {
    let a = w.b1[k];
    for (let j = 0; j < w.f; j++) a += ((x[offset + j] - w.mean[j]) / w.std[j]) * w.w1[j * w.h + k];
    if (a > 0) out += a * w.w2[k];
  }
  return sigmoid(out);
}

export function train(d: Dataset, o: TrainOptions): MlpWeights {
  const { f } = d;
  const h = o.hidden;
  const rand = rng(o.seed);
  const { mean, std } = standardisation(d);
  const xs = new Float64Array(d.n * f);
  for (let i = 0; i < d.n; i++) for (let j = 0; j < f; j++) xs[i * f + j] = (d.x[i * f + j] - mean[j]) / std[j];

  // He initialisation for the ReLU layer, small output weights.
  const params = new Float64Array(f * h + h + h + 1);
  const W1 = 0;
  const B1 = f * h;
  const W2 = B1 + h;
  const B2 = W2 + h;
  for (let i = 0; i < f * h; i++) params[W1 + i] = gaussian(rand) * Math.sqrt(2 / f);
  for (let i = 0; i < h; i++) params[W2 + i] = gaussian(rand) * Math.sqrt(1 / h);
  const grad = new Float64Array(params.length);
  const m1 = new Float64Array(params.length);
  const m2 = new Float64Array(params.length);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  const order = Array.from({ length: d.n }, (_, i) => i);
  const hidden = new Float64Array(h);

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let start = 0; start < d.n; start += o.batchSize) {
      const end = Math.min(d.n, start + o.batchSize);
      grad.fill(0);
      for (let bi = start; bi < end; bi++) {
        const r = order[bi];
        const xo = r * f;
        let z = params[B2];
        for (let k = 0; k < h; k++) {
          let a = params[B1 + k];
          for (let j = 0; j < f; j++) a += xs[xo + j] * params[W1 + j * h + k];
          hidden[k] = a > 0 ? a : 0;
          z += hidden[k] * params[W2 + k];
        }
        const err = sigmoid(z) - d.y[r]; // d(BCE)/dz
        grad[B2] += err;
        for (let k = 0; k < h; k++) {
          grad[W2 + k] += err * hidden[k];
          if (hidden[k] <= 0) continue;
          const back = err * params[W2 + k];
          grad[B1 + k] += back;
          for (let j = 0; j < f; j++) grad[W1 + j * h + k] += back * xs[xo + j];
        }
      }
      const scale = 1 / (end - start);
      step++;
      const lrT = (o.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      for (let p = 0; p < params.length; p++) {
        const g = grad[p] * scale + (p < B1 || (p >= W2 && p < B2) ? o.l2 * params[p] : 0);
        m1[p] = beta1 * m1[p] + (1 - beta1) * g;
        m2[p] = beta2 * m2[p] + (1 - beta2) * g * g;
        params[p] -= (lrT * m1[p]) / (Math.sqrt(m2[p]) + 1e-8);
      }
    }
  }
  return {
    f,
    h,
    mean,
    std,
    w1: Float32Array.from(params.subarray(W1, B1)),
    b1: Float32Array.from(params.subarray(B1, W2)),
    w2: Float32Array.from(params.subarray(W2, B2)),
    b2: Float32Array.from(params.subarray(B2, B2 + 1)),
  };
}

/** Area under the ROC curve (rank statistic), and mean log-loss, on a dataset. */
export function evaluate(w: MlpWeights, d: Dataset): { auc: number; logloss: number } {
  const scores = new Float64Array(d.n);
  let loss = 0;
  for (let i = 0; i < d.n; i++) {
    const p = predictRow(w, d.x, i * d.f);
    scores[i] = p;
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
    loss -= d.y[i] ? Math.log(q) : Math.log(1 - q);
  }
  const idx = Array.from({ length: d.n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let pos = 0;
  for (let r = 0; r < idx.length;) {
    // Tied scores share their average rank.
    let e = r;
    while (e + 1 < idx.length && scores[idx[e + 1]] === scores[idx[r]]) e++;
    const avg = (r + e) / 2 + 1;
    for (let k = r; k <= e; k++)
      if (d.y[idx[k]]) {
        rankSum += avg;
        pos++;
      }
    r = e + 1;
  }
  const neg = d.n - pos;
  const auc = pos && neg ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : 0.5;
  return { auc, logloss: loss / Math.max(1, d.n) };
}
