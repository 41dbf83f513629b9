// Synthetic training data for a fresh install (or a database with too little engagement): a small
// simulated world of creators, videos and users with favourite creators. A history of impressions
// produces the counts the features read; labels come from later, held-out impressions, so no
// label leaks into its own features. Users follow creators, mostly their favourites. Deterministic for a seed.
import { FEATURE_COUNT, writeFeatures, type UserFacts, type VideoFacts } from './feed.features.js';
import { gaussian, rng, sigmoid, type Dataset } from './feed.trainer.js';

export interface SyntheticOptions {
  seed: number;
  creators: number;
  videos: number;
  users: number;
  /** Impressions per user that build the history, and that become labelled examples. */
  historyPerUser: number;
  examplesPerUser: number;
}

export const DEFAULT_SYNTHETIC: Omit<SyntheticOptions, 'seed'> = { creators: 25, videos: 600, users: 400, historyPerUser: 100, examplesPerUser: 40 };

interface SimVideo extends VideoFacts {
  quality: number;
  creator: number;
}

/** Features only depend on ages, so a fixed clock keeps the data (and the model) reproducible. */
const SIM_NOW_MS = Date.UTC(2025, 0, 1);

export function syntheticDataset(o: SyntheticOptions): Dataset {
  const nowMs = SIM_NOW_MS;
  const rand = rng(o.seed);
  const creatorQuality = Array.from({ length: o.creators }, () => gaussian(rand));
  const videos: SimVideo[] = Array.from({ length: o.videos }, () => {
    const creator = Math.floor(rand() * o.creators);
    return {
      creator,
      ownerId: `c${creator}`,
      quality: 0.6 * creatorQuality[creator] + 0.8 * gaussian(rand),
      views: 0,
      likes: 0,
      // Ages: mostly recent (mean four days), none older than thirty.
      publishedAtMs: nowMs - Math.min(30, -4 * Math.log(Math.max(rand(), 1e-9))) * 86_400_000,
      durationSeconds: Math.exp(Math.log(300) + 0.8 * gaussian(rand)),
    };
  });
  // Each user has a few favourite creators: the signal "creator affinity" must learn.
  const favourites = Array.from({ length: o.users }, () => {
    const fav = new Map<number, number>();
    for (let k = 0; k < 3; k++) fav.set(Math.floor(rand() * o.creators), 1.5 + rand());
    return fav;
  });
  // Users follow most of their favourites, and now and then someone else: following is a strong
  // but imperfect sign of affinity, and a follow of itself makes a viewer come back to a creator.
  const follows = favourites.map((fav) => {
    const set = new Set<number>();
    for (const c of fav.keys()) if (rand() < 0.7) set.add(c);
    if (rand() < 0.3) set.add(Math.floor(rand() * o.creators));
    return set;
  });
  const engageProbability = (u: number, v: SimVideo, atMs: number): number => {
    const ageHours = Math.max(0, (atMs - v.publishedAtMs) / 3_600_000);
    const minutes = (v.durationSeconds ?? 0) / 60;
    // Ground truth: quality, affinity and freshness help; very long videos are watched less.
    const z = -2.8 + 0.9 * v.quality + (favourites[u].get(v.creator) ?? 0) + (follows[u].has(v.creator) ? 0.8 : 0) + 1.2 * Math.exp(-ageHours / 72) - (0.15 * Math.max(0, minutes - 10)) / 10;
    return sigmoid(z);
  };
  // Impressions favour newer and better videos, as a real feed would.
  const pick = (): number => {
    for (;;) {
      const i = Math.floor(rand() * videos.length);
      const v = videos[i];
      const ageDays = (nowMs - v.publishedAtMs) / 86_400_000;
      if (rand() < 0.35 + 0.65 * Math.exp(-ageDays / 10) * sigmoid(v.quality + 1)) return i;
    }
  };

  const users: UserFacts[] = Array.from({ length: o.users }, (_, u) => ({
    likesByCreator: new Map(),
    watchSecondsByCreator: new Map(),
    followedCreators: new Set([...follows[u]].map((c) => `c${c}`)),
  }));
  const seen: Array<Set<number>> = Array.from({ length: o.users }, () => new Set());
  const creatorLikes = new Map<string, number>();
  for (let u = 0; u < o.users; u++) {
    for (let k = 0; k < o.historyPerUser; k++) {
      const i = pick();
      const v = videos[i];
      seen[u].add(i);
      v.views++;
      // Views also come from people outside the simulated users, in proportion to quality.
      v.views += Math.floor(rand() * 4 * Math.exp(v.quality));
      if (rand() < engageProbability(u, v, nowMs)) {
        const owner = v.ownerId;
        // Not every client reports watch time, and not every viewer likes: the two signals are
        // partly independent, as they are in real traffic.
        if (rand() < 0.5) users[u].watchSecondsByCreator.set(owner, (users[u].watchSecondsByCreator.get(owner) ?? 0) + (v.durationSeconds ?? 0) * (0.4 + 0.6 * rand()));
        if (rand() < 0.6) {
          v.likes++;
          users[u].likesByCreator.set(owner, (users[u].likesByCreator.get(owner) ?? 0) + 1);
          creatorLikes.set(owner, (creatorLikes.get(owner) ?? 0) + 1);
        }
      }
    }
  }

  const n = o.users * o.examplesPerUser;
  const x = new Float32Array(n * FEATURE_COUNT);
  const y = new Uint8Array(n);
  let row = 0;
  for (let u = 0; u < o.users; u++) {
    for (let k = 0; k < o.examplesPerUser; k++) {
      let i = pick();
      for (let tries = 0; seen[u].has(i) && tries < 20; tries++) i = pick();
      const v = videos[i];
      writeFeatures(x, row, v, users[u], creatorLikes.get(v.ownerId) ?? 0, nowMs);
      y[row] = rand() < engageProbability(u, v, nowMs) ? 1 : 0;
      row++;
    }
  }
  return { x, y, n, f: FEATURE_COUNT };
}
