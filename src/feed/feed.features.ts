// The ranking features, shared by the feed (serving) and the trainer so both compute them the same
// way. One row per (user, candidate video); the order of FEATURE_NAMES is the model's input order.

export const FEATURE_NAMES = [
  'creator_likes_by_user',
  'creator_watch_minutes_by_user',
  'video_views',
  'video_likes',
  'video_like_rate',
  'video_freshness',
  'creator_likes',
  'video_duration_minutes',
  'follows_creator',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Freshness halves roughly every 50 hours (e^(-t/72h)). */
const FRESHNESS_HOURS = 72;

export interface VideoFacts {
  ownerId: string;
  views: number;
  likes: number;
  publishedAtMs: number;
  durationSeconds: number | null;
}

/** What a user did with each creator's videos. */
export interface UserFacts {
  likesByCreator: Map<string, number>;
  watchSecondsByCreator: Map<string, number>;
  /** Creators the user follows: the strongest signal a viewer gives. */
  followedCreators?: ReadonlySet<string>;
}

/** Writes one feature row at `row` of a [n, FEATURE_COUNT] row-major matrix. */
export function writeFeatures(out: Float32Array, row: number, v: VideoFacts, u: UserFacts, creatorLikes: number, nowMs: number): void {
  const o = row * FEATURE_COUNT;
  const views = Math.max(0, v.views);
  const likes = Math.max(0, v.likes);
  const ageHours = Math.max(0, (nowMs - v.publishedAtMs) / 3_600_000);
  out[o] = Math.log1p(Math.max(0, u.likesByCreator.get(v.ownerId) ?? 0));
  out[o + 1] = Math.log1p(Math.max(0, u.watchSecondsByCreator.get(v.ownerId) ?? 0) / 60);
  out[o + 2] = Math.log1p(views);
  out[o + 3] = Math.log1p(likes);
  // Smoothed so that a video with one view and one like does not look perfect.
  out[o + 4] = (likes + 1) / (views + 10);
  out[o + 5] = Math.exp(-ageHours / FRESHNESS_HOURS);
  out[o + 6] = Math.log1p(Math.max(0, creatorLikes));
  out[o + 7] = Math.log1p(Math.max(0, v.durationSeconds ?? 0) / 60);
  out[o + 8] = u.followedCreators?.has(v.ownerId) ? 1 : 0;
}

/** The fallback order when no model can rank: engagement decayed by age, like a trending list. */
export function trendingScore(v: { views: number; likes: number; watchSeconds: number; publishedAtMs: number }, nowMs: number): number {
  const ageHours = Math.max(0, (nowMs - v.publishedAtMs) / 3_600_000);
  return (1 + v.views + 3 * v.likes + v.watchSeconds / 60) / Math.pow(ageHours + 2, 1.5);
}
