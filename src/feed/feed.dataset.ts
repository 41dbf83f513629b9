// Training examples from the database. A positive is a (user, video) pair the user liked or watched
// for a while; negatives are videos they viewed without engaging and random ready videos they never
// saw. Features are computed leave-one-out: the example's own view, like and watch time are taken
// out of the counts, so the model cannot learn "liked videos have a like from this user".
import { FEATURE_COUNT, writeFeatures, type UserFacts } from './feed.features.js';
import type { FeedRepository } from './feed.repository.js';
import { rng, type Dataset } from './feed.trainer.js';

export interface DbDatasetStats {
  users: number;
  videos: number;
  positives: number;
  negatives: number;
}

/** Watching at least this long (or half the video, if shorter) counts as engagement. */
const ENGAGED_SECONDS = 30;
const NEGATIVES_PER_POSITIVE = 2;

export async function databaseDataset(
  repo: FeedRepository,
  seed: number,
  nowMs: number,
  maxRows = 200_000,
  follows: Array<{ follower_id: string; followee_id: string }> = [],
): Promise<{ data: Dataset; stats: DbDatasetStats }> {
  const raw = await repo.trainingData(maxRows);
  const rand = rng(seed);
  const videos = new Map(raw.videos.map((v) => [v.id, v]));
  const key = (u: string, v: string): string => `${u}|${v}`;
  const liked = new Set(raw.likes.filter((l) => videos.has(l.video_id)).map((l) => key(l.user_id, l.video_id)));
  const watched = new Map(raw.watch.filter((w) => videos.has(w.video_id)).map((w) => [key(w.user_id, w.video_id), w.seconds]));
  const viewed = new Map(raw.views.filter((v) => videos.has(v.video_id)).map((v) => [key(v.user_id, v.video_id), v.n]));

  const users = new Map<string, UserFacts>();
  const facts = (u: string): UserFacts => {
    let f = users.get(u);
    if (!f) users.set(u, (f = { likesByCreator: new Map(), watchSecondsByCreator: new Map() }));
    return f;
  };
  const creatorLikes = new Map<string, number>();
  for (const l of raw.likes) {
    const v = videos.get(l.video_id);
    if (!v) continue;
    const f = facts(l.user_id);
    f.likesByCreator.set(v.owner_id, (f.likesByCreator.get(v.owner_id) ?? 0) + 1);
  }
  for (const v of videos.values()) creatorLikes.set(v.owner_id, (creatorLikes.get(v.owner_id) ?? 0) + v.likes);
  for (const w of raw.watch) {
    const v = videos.get(w.video_id);
    if (!v) continue;
    const f = facts(w.user_id);
    f.watchSecondsByCreator.set(v.owner_id, (f.watchSecondsByCreator.get(v.owner_id) ?? 0) + w.seconds);
  }
  for (const v of raw.views) facts(v.user_id);
  for (const f of follows) {
    const uf = users.get(f.follower_id);
    if (uf) uf.followedCreators = new Set([...(uf.followedCreators ?? []), f.followee_id]);
  }
  const touchedBy = new Map<string, Set<string>>();
  for (const k of [...liked, ...watched.keys(), ...viewed.keys()]) {
    const [u, vid] = k.split('|');
    let set = touchedBy.get(u);
    if (!set) touchedBy.set(u, (set = new Set()));
    set.add(vid);
  }

  const engaged = (u: string, vid: string): boolean => {
    const v = videos.get(vid)!;
    const need = Math.min(ENGAGED_SECONDS, 0.5 * (v.duration_seconds ?? ENGAGED_SECONDS * 2));
    return liked.has(key(u, vid)) || (watched.get(key(u, vid)) ?? 0) >= need;
  };

  const pairs: Array<{ u: string; v: string; y: 0 | 1 }> = [];
  const videoIds = [...videos.keys()];
  for (const u of users.keys()) {
    const touched = touchedBy.get(u) ?? new Set<string>();
    let positives = 0;
    for (const vid of touched) {
      if (videos.get(vid)!.owner_id === u) continue;
      const y = engaged(u, vid) ? 1 : 0;
      positives += y;
      pairs.push({ u, v: vid, y });
    }
    // Unseen videos stand in for impressions that did not lead anywhere.
    for (let i = 0; i < positives * NEGATIVES_PER_POSITIVE && videoIds.length > touched.size + 1; i++) {
      const vid = videoIds[Math.floor(rand() * videoIds.length)];
      if (touched.has(vid) || videos.get(vid)!.owner_id === u) continue;
      pairs.push({ u, v: vid, y: 0 });
    }
  }

  const n = pairs.length;
  const x = new Float32Array(n * FEATURE_COUNT);
  const y = new Uint8Array(n);
  pairs.forEach((p, row) => {
    const v = videos.get(p.v)!;
    const uf = users.get(p.u)!;
    const k = key(p.u, p.v);
    const ownLike = liked.has(k) ? 1 : 0;
    const ownWatch = watched.get(k) ?? 0;
    // Leave this pair out of every count it contributed to.
    const userLoo: UserFacts = {
      likesByCreator: new Map(uf.likesByCreator).set(v.owner_id, (uf.likesByCreator.get(v.owner_id) ?? 0) - ownLike),
      watchSecondsByCreator: new Map(uf.watchSecondsByCreator).set(v.owner_id, (uf.watchSecondsByCreator.get(v.owner_id) ?? 0) - ownWatch),
      followedCreators: uf.followedCreators,
    };
    const published = Date.parse(v.ready_at ?? v.created_at);
    writeFeatures(
      x,
      row,
      { ownerId: v.owner_id, views: v.views - (viewed.get(k) ?? 0), likes: v.likes - ownLike, publishedAtMs: published, durationSeconds: v.duration_seconds },
      userLoo,
      (creatorLikes.get(v.owner_id) ?? 0) - ownLike,
      nowMs,
    );
    y[row] = p.y;
  });
  const positives = y.reduce((s, b) => s + b, 0);
  return { data: { x, y, n, f: FEATURE_COUNT }, stats: { users: users.size, videos: videos.size, positives, negatives: n - positives } };
}

export function concatDatasets(a: Dataset, b: Dataset): Dataset {
  const x = new Float32Array((a.n + b.n) * a.f);
  x.set(a.x, 0);
  x.set(b.x, a.n * a.f);
  const y = new Uint8Array(a.n + b.n);
  y.set(a.y, 0);
  y.set(b.y, a.n);
  return { x, y, n: a.n + b.n, f: a.f };
}

/** Splits off every k-th example as a hold-out set for evaluation. */
export function holdOut(d: Dataset, every: number): { train: Dataset; test: Dataset } {
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  for (let i = 0; i < d.n; i++) (i % every === every - 1 ? testIdx : trainIdx).push(i);
  const pick = (idx: number[]): Dataset => {
    const x = new Float32Array(idx.length * d.f);
    const y = new Uint8Array(idx.length);
    idx.forEach((i, r) => {
      x.set(d.x.subarray(i * d.f, (i + 1) * d.f), r * d.f);
      y[r] = d.y[i];
    });
    return { x, y, n: idx.length, f: d.f };
  };
  return { train: pick(trainIdx), test: pick(testIdx) };
}
