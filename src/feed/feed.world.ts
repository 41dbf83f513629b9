// Timestamped engagement for the offline evaluation: a simulated world that unfolds day by day
// (creators publish, users see videos and sometimes like or watch them), in the same shape as the
// engagement an instance records, so both are evaluated by one procedure. Deterministic for a seed.
import { gaussian, rng, sigmoid } from './feed.trainer.js';

export interface WorldVideo {
  id: string;
  ownerId: string;
  publishedAtMs: number;
  durationSeconds: number | null;
}

/** One thing a user (or, with user '', someone outside the world) did with a video. */
export interface WorldEvent {
  user: string;
  video: string;
  atMs: number;
  kind: 'view' | 'like' | 'watch';
  seconds?: number;
}

export interface World {
  videos: WorldVideo[];
  events: WorldEvent[]; // in time order
  follows: Array<{ follower: string; followee: string }>;
  endMs: number;
}

export interface WorldOptions {
  seed: number;
  creators: number;
  videos: number;
  users: number;
  days: number;
  impressionsPerUserDay: number;
}

export const DEFAULT_WORLD: Omit<WorldOptions, 'seed'> = { creators: 20, videos: 300, users: 200, days: 14, impressionsPerUserDay: 8 };
/** Small enough for a test and for the check before model:train publishes. */
export const SMALL_WORLD: Omit<WorldOptions, 'seed'> = { creators: 12, videos: 200, users: 120, days: 14, impressionsPerUserDay: 6 };

const DAY = 86_400_000;
const SIM_END_MS = Date.UTC(2025, 0, 1);

export function syntheticWorld(o: WorldOptions): World {
  const rand = rng(o.seed);
  const endMs = SIM_END_MS;
  const startMs = endMs - o.days * DAY;
  const creatorQuality = Array.from({ length: o.creators }, () => gaussian(rand));
  // A tenth of the catalogue predates the simulated period; the rest is published during it.
  const videos = Array.from({ length: o.videos }, (_, i) => {
    const creator = Math.floor(rand() * o.creators);
    const publishedAtMs = rand() < 0.1 ? startMs - rand() * 10 * DAY : startMs + rand() * o.days * DAY;
    return {
      id: `v${i}`,
      ownerId: `c${creator}`,
      creator,
      quality: 0.6 * creatorQuality[creator] + 0.8 * gaussian(rand),
      publishedAtMs,
      durationSeconds: Math.exp(Math.log(300) + 0.8 * gaussian(rand)),
    };
  }).sort((a, b) => a.publishedAtMs - b.publishedAtMs);
  const favourites = Array.from({ length: o.users }, () => {
    const fav = new Map<number, number>();
    for (let k = 0; k < 3; k++) fav.set(Math.floor(rand() * o.creators), 1.5 + rand());
    return fav;
  });
  const follows = favourites.map((fav) => {
    const set = new Set<number>();
    for (const c of fav.keys()) if (rand() < 0.7) set.add(c);
    if (rand() < 0.3) set.add(Math.floor(rand() * o.creators));
    return set;
  });
  const engageProbability = (u: number, v: (typeof videos)[number], atMs: number): number => {
    const ageHours = Math.max(0, (atMs - v.publishedAtMs) / 3_600_000);
    const minutes = v.durationSeconds / 60;
    const z = -2.8 + 0.9 * v.quality + (favourites[u].get(v.creator) ?? 0) + (follows[u].has(v.creator) ? 0.8 : 0) + 1.2 * Math.exp(-ageHours / 72) - (0.15 * Math.max(0, minutes - 10)) / 10;
    return sigmoid(z);
  };

  const events: WorldEvent[] = [];
  let published = 0;
  for (let d = 0; d < o.days; d++) {
    const dayStart = startMs + d * DAY;
    while (published < videos.length && videos[published].publishedAtMs < dayStart + DAY / 2) published++;
    if (published === 0) continue;
    const atMid = dayStart + DAY / 2;
    // Impressions favour newer and better videos, as a feed (or word of mouth) would.
    const pick = (): (typeof videos)[number] => {
      for (;;) {
        const v = videos[Math.floor(rand() * published)];
        const ageDays = (atMid - v.publishedAtMs) / DAY;
        if (rand() < 0.25 + 0.75 * Math.exp(-ageDays / 5) * sigmoid(v.quality + 1)) return v;
      }
    };
    for (let u = 0; u < o.users; u++) {
      for (let k = 0; k < o.impressionsPerUserDay; k++) {
        const v = pick();
        const at = Math.max(v.publishedAtMs, dayStart + rand() * DAY);
        events.push({ user: `u${u}`, video: v.id, atMs: at, kind: 'view' });
        if (rand() < 0.3) events.push({ user: '', video: v.id, atMs: at, kind: 'view' });
        if (rand() < engageProbability(u, v, at)) {
          if (rand() < 0.5) events.push({ user: `u${u}`, video: v.id, atMs: at + 1, kind: 'watch', seconds: v.durationSeconds * (0.4 + 0.6 * rand()) });
          if (rand() < 0.6) events.push({ user: `u${u}`, video: v.id, atMs: at + 2, kind: 'like' });
        }
      }
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return {
    videos: videos.map(({ id, ownerId, publishedAtMs, durationSeconds }) => ({ id, ownerId, publishedAtMs, durationSeconds })),
    events,
    follows: follows.flatMap((set, u) => [...set].map((c) => ({ follower: `u${u}`, followee: `c${c}` }))),
    endMs,
  };
}
