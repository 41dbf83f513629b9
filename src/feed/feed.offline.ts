// Offline evaluation of the feed ranker against plain baselines. Engagement is split by time: the
// model learns from the past (features as of one moment, labels from the days after it) and every
// ranker then orders, for each user, the videos they had not engaged with at the cut-off; the videos
// they did engage with in the last days are the relevant ones. NDCG@10, recall@20, coverage.
import { FEATURE_COUNT, writeFeatures, type UserFacts } from './feed.features.js';
import { predictRow, rng, train, type MlpWeights, type TrainOptions } from './feed.trainer.js';
import { syntheticWorld, type World, type WorldEvent, type WorldOptions, type WorldVideo } from './feed.world.js';

export interface RankerMetrics {
  ndcg10: number;
  recall20: number;
  coverage: number;
}

/** Scores a [n, FEATURE_COUNT] feature matrix; higher ranks first. */
export type Scorer = (x: Float32Array, n: number) => Float32Array | Promise<Float32Array>;

export interface OfflineOptions {
  /** The last days of engagement, held out as the test. */
  testDays: number;
  /** The days before the test whose engagement labels the training examples. */
  labelDays: number;
  /** "Popularity in the window": engagement over this many days before the cut-off. */
  popularityDays: number;
  seed: number;
  /** How the `model` ranker is trained on the past; null leaves it out (only `scorers` are judged). */
  train: Omit<TrainOptions, 'seed'> | null;
  /** Other models to rank with (e.g. the served version), by ranker name. */
  scorers?: Record<string, Scorer>;
}

export const DEFAULT_OFFLINE: Omit<OfflineOptions, 'seed'> = {
  testDays: 3,
  labelDays: 4,
  popularityDays: 7,
  train: { hidden: 16, epochs: 30, batchSize: 128, learningRate: 0.01, l2: 1e-4 },
};

export interface OfflineReport {
  rankers: Record<string, RankerMetrics>;
  users: number;
  candidates: number;
  trainExamples: number;
  weights: MlpWeights | null;
}

const DAY = 86_400_000;
/** Watching at least this long (or half the video, if shorter) counts as engagement, as in training. */
const ENGAGED_SECONDS = 30;

/** Everything the features and baselines read, as of one moment. */
interface State {
  atMs: number;
  views: Map<string, number>;
  likes: Map<string, number>;
  creatorLikes: Map<string, number>;
  users: Map<string, UserFacts>;
  engaged: Map<string, Set<string>>;
  windowPopularity: Map<string, number>;
}

function isEngagement(e: WorldEvent, v: WorldVideo): boolean {
  if (e.kind === 'like') return true;
  if (e.kind !== 'watch') return false;
  return (e.seconds ?? 0) >= Math.min(ENGAGED_SECONDS, 0.5 * (v.durationSeconds ?? ENGAGED_SECONDS * 2));
}

function stateAt(world: World, videos: Map<string, WorldVideo>, atMs: number, popularityDays: number): State {
  const s: State = { atMs, views: new Map(), likes: new Map(), creatorLikes: new Map(), users: new Map(), engaged: new Map(), windowPopularity: new Map() };
  const followed = new Map<string, Set<string>>();
  for (const f of world.follows) {
    let set = followed.get(f.follower);
    if (!set) followed.set(f.follower, (set = new Set()));
    set.add(f.followee);
  }
  const facts = (u: string): UserFacts => {
    let f = s.users.get(u);
    if (!f) s.users.set(u, (f = { likesByCreator: new Map(), watchSecondsByCreator: new Map(), followedCreators: followed.get(u) ?? new Set() }));
    return f;
  };
  const inc = (m: Map<string, number>, k: string, by: number): void => void m.set(k, (m.get(k) ?? 0) + by);
  const windowStart = atMs - popularityDays * DAY;
  for (const e of world.events) {
    if (e.atMs >= atMs) break;
    const v = videos.get(e.video);
    if (!v) continue;
    const inWindow = e.atMs >= windowStart;
    if (e.kind === 'view') {
      inc(s.views, v.id, 1);
      if (inWindow) inc(s.windowPopularity, v.id, 1);
    } else if (e.kind === 'like') {
      inc(s.likes, v.id, 1);
      inc(s.creatorLikes, v.ownerId, 1);
      if (inWindow) inc(s.windowPopularity, v.id, 3);
    } else if (inWindow) inc(s.windowPopularity, v.id, (e.seconds ?? 0) / 60);
    if (!e.user) continue;
    const f = facts(e.user);
    if (e.kind === 'like') inc(f.likesByCreator, v.ownerId, 1);
    if (e.kind === 'watch') inc(f.watchSecondsByCreator, v.ownerId, e.seconds ?? 0);
    if (isEngagement(e, v)) {
      let set = s.engaged.get(e.user);
      if (!set) s.engaged.set(e.user, (set = new Set()));
      set.add(v.id);
    }
  }
  for (const f of world.follows) facts(f.follower);
  return s;
}

function featuresFor(s: State, user: string, vids: WorldVideo[]): Float32Array {
  const x = new Float32Array(vids.length * FEATURE_COUNT);
  const u = s.users.get(user) ?? { likesByCreator: new Map(), watchSecondsByCreator: new Map() };
  vids.forEach((v, i) => {
    writeFeatures(
      x,
      i,
      { ownerId: v.ownerId, views: s.views.get(v.id) ?? 0, likes: s.likes.get(v.id) ?? 0, publishedAtMs: v.publishedAtMs, durationSeconds: v.durationSeconds },
      u,
      s.creatorLikes.get(v.ownerId) ?? 0,
      s.atMs,
    );
  });
  return x;
}

/** Users' engagement in [fromMs, toMs) with videos published before fromMs they had not engaged with. */
function relevantIn(world: World, videos: Map<string, WorldVideo>, s: State, toMs: number): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of world.events) {
    if (e.atMs < s.atMs || !e.user) continue;
    if (e.atMs >= toMs) break;
    const v = videos.get(e.video);
    if (!v || v.publishedAtMs >= s.atMs || s.engaged.get(e.user)?.has(v.id) || !isEngagement(e, v)) continue;
    let set = out.get(e.user);
    if (!set) out.set(e.user, (set = new Set()));
    set.add(v.id);
  }
  return out;
}

/** Training examples: what users were shown in [fromMs, toMs), labelled by whether they engaged. */
function trainingSet(world: World, videos: Map<string, WorldVideo>, fromMs: number, toMs: number, popularityDays: number) {
  const s = stateAt(world, videos, fromMs, popularityDays);
  const relevant = relevantIn(world, videos, s, toMs);
  const shown = new Map<string, Set<string>>();
  for (const e of world.events) {
    if (e.atMs < fromMs || !e.user || e.kind !== 'view') continue;
    if (e.atMs >= toMs) break;
    const v = videos.get(e.video);
    if (!v || v.publishedAtMs >= fromMs || s.engaged.get(e.user)?.has(v.id)) continue;
    let set = shown.get(e.user);
    if (!set) shown.set(e.user, (set = new Set()));
    set.add(v.id);
  }
  const rows: Array<{ u: string; v: WorldVideo; y: number }> = [];
  for (const [u, set] of shown) for (const id of set) rows.push({ u, v: videos.get(id)!, y: relevant.get(u)?.has(id) ? 1 : 0 });
  const x = new Float32Array(rows.length * FEATURE_COUNT);
  const y = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    x.set(featuresFor(s, r.u, [r.v]), i * FEATURE_COUNT);
    y[i] = r.y;
  });
  return { x, y, n: rows.length, f: FEATURE_COUNT };
}

/** Indices of the `k` highest scores; ties go to the newer video, then the id, so orders are reproducible. */
function topK(scores: ArrayLike<number>, vids: WorldVideo[], k: number): number[] {
  const idx = Array.from({ length: vids.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || vids[b].publishedAtMs - vids[a].publishedAtMs || (vids[a].id < vids[b].id ? -1 : 1));
  return idx.slice(0, k);
}

export async function evaluateOffline(world: World, o: OfflineOptions): Promise<OfflineReport> {
  const videos = new Map(world.videos.map((v) => [v.id, v]));
  const cutoff = world.endMs - o.testDays * DAY;
  const trainData = o.train ? trainingSet(world, videos, cutoff - o.labelDays * DAY, cutoff, o.popularityDays) : { x: new Float32Array(0), y: new Uint8Array(0), n: 0, f: FEATURE_COUNT };
  const weights = o.train ? train(trainData, { ...o.train, seed: o.seed }) : null;

  const s = stateAt(world, videos, cutoff, o.popularityDays);
  const relevant = relevantIn(world, videos, s, world.endMs);
  const catalogue = world.videos.filter((v) => v.publishedAtMs < cutoff);
  const rand = rng(o.seed ^ 0x5eed);
  const byFeatures = (scorer: Scorer) => async (user: string, vids: WorldVideo[]) => scorer(featuresFor(s, user, vids), vids.length);
  const named: Record<string, (user: string, vids: WorldVideo[]) => ArrayLike<number> | Promise<ArrayLike<number>>> = {
    ...(weights ? { model: byFeatures(weightsScorer(weights)) } : {}),
    ...Object.fromEntries(Object.entries(o.scorers ?? {}).map(([k, sc]) => [k, byFeatures(sc)])),
    popularity: (_u, vids) => vids.map((v) => s.windowPopularity.get(v.id) ?? 0),
    recency: (_u, vids) => vids.map((v) => v.publishedAtMs),
    random: (_u, vids) => vids.map(() => rand()),
  };

  const sums: Record<string, { ndcg: number; recall: number; shown: Set<string> }> = {};
  for (const name of Object.keys(named)) sums[name] = { ndcg: 0, recall: 0, shown: new Set() };
  const users = [...relevant.keys()].sort();
  const discount = (r: number): number => 1 / Math.log2(r + 2);
  for (const u of users) {
    const rel = relevant.get(u)!;
    const seen = s.engaged.get(u);
    const vids = seen ? catalogue.filter((v) => !seen.has(v.id)) : catalogue;
    let ideal = 0;
    for (let r = 0; r < Math.min(10, rel.size); r++) ideal += discount(r);
    for (const [name, rank] of Object.entries(named)) {
      const top = topK(await rank(u, vids), vids, 20);
      let dcg = 0;
      let hits = 0;
      top.forEach((i, r) => {
        if (!rel.has(vids[i].id)) return;
        hits++;
        if (r < 10) dcg += discount(r);
      });
      const acc = sums[name];
      acc.ndcg += dcg / ideal;
      acc.recall += hits / rel.size;
      for (const i of top.slice(0, 10)) acc.shown.add(vids[i].id);
    }
  }
  const n = Math.max(1, users.length);
  const out: Record<string, RankerMetrics> = {};
  for (const [name, acc] of Object.entries(sums)) out[name] = { ndcg10: acc.ndcg / n, recall20: acc.recall / n, coverage: acc.shown.size / Math.max(1, catalogue.length) };
  return { rankers: out, users: users.length, candidates: catalogue.length, trainExamples: trainData.n, weights };
}

export interface Summary {
  mean: Record<string, RankerMetrics>;
  spread: Record<string, RankerMetrics>;
}

/** Mean and standard deviation of each metric over several runs (seeds). */
export function summarise(runs: Array<Record<string, RankerMetrics>>): Summary {
  const mean: Record<string, RankerMetrics> = {};
  const spread: Record<string, RankerMetrics> = {};
  for (const name of Object.keys(runs[0] ?? {})) {
    const m = { ndcg10: 0, recall20: 0, coverage: 0 };
    const sd = { ndcg10: 0, recall20: 0, coverage: 0 };
    for (const key of ['ndcg10', 'recall20', 'coverage'] as const) {
      const xs = runs.map((r) => r[name][key]);
      m[key] = xs.reduce((a, b) => a + b, 0) / xs.length;
      sd[key] = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m[key]) ** 2, 0) / (xs.length - 1)) : 0;
    }
    mean[name] = m;
    spread[name] = sd;
  }
  return { mean, spread };
}

/** The model beats popularity when its mean NDCG@10 is higher by more than either's spread. */
export function beatsPopularity(s: Summary, ranker = 'model'): boolean {
  const margin = s.mean[ranker].ndcg10 - s.mean.popularity.ndcg10;
  return margin > Math.max(s.spread[ranker].ndcg10, s.spread.popularity.ndcg10);
}

export function metricsLine(name: string, m: RankerMetrics): string {
  return `${name} NDCG@10=${m.ndcg10.toFixed(4)} recall@20=${m.recall20.toFixed(4)} coverage=${m.coverage.toFixed(4)}`;
}

/** A scorer from trained weights, computed the way the ONNX graph does. */
export function weightsScorer(w: MlpWeights): Scorer {
  return (x, n) => Float32Array.from({ length: n }, (_, i) => predictRow(w, x, i * FEATURE_COUNT));
}

/** The evaluation on `seeds` generated worlds; `scorers` rank alongside the freshly trained model. */
export async function syntheticEvaluation(
  seeds: number[],
  world: Omit<WorldOptions, 'seed'>,
  scorers: Record<string, Scorer> = {},
  opts = DEFAULT_OFFLINE,
): Promise<Summary & { runs: OfflineReport[] }> {
  const runs: OfflineReport[] = [];
  for (const seed of seeds) runs.push(await evaluateOffline(syntheticWorld({ seed, ...world }), { ...opts, seed, scorers }));
  return { ...summarise(runs.map((r) => r.rankers)), runs };
}
