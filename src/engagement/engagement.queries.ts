// Read-only questions other capabilities (the feed, its trainer) ask about engagement, so that only this
// capability writes SQL against its tables.
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';
import './engagement.repository.js';

export interface VideoTotals {
  views: number;
  likes: number;
  watch_seconds: number;
}

/** Totals of these videos; a video nobody engaged with is absent. */
export async function videoTotals(db: Db, ids: string[]): Promise<Map<string, VideoTotals>> {
  const out = new Map<string, VideoTotals>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.kysely
      .selectFrom('video_stats')
      .select(['video_id', 'views', 'likes', 'watch_seconds'])
      .where('video_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.video_id, { views: Number(r.views), likes: Number(r.likes), watch_seconds: Number(r.watch_seconds) });
  }
  return out;
}

/** The most engaged-with videos (likes weigh 3 views, a watched minute one), at most `limit` ids. */
export async function mostEngagedVideos(db: Db, limit: number): Promise<string[]> {
  const rows = await db.kysely
    .selectFrom('video_stats')
    .select('video_id')
    .orderBy(sql`likes * 3 + views + watch_seconds / 60`, 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.video_id);
}

/** What one user did: the videos they liked and their watch seconds per video (the newest `limit` of each). */
export async function userEngagement(db: Db, userId: string, limit: number): Promise<{ liked: string[]; watched: Array<{ video_id: string; seconds: number }> }> {
  const k = db.kysely;
  const liked = await k.selectFrom('video_likes').select('video_id').where('user_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
  const watched = await k.selectFrom('video_watch').select(['video_id', 'seconds']).where('user_id', '=', userId).orderBy('updated_at', 'desc').limit(limit).execute();
  return { liked: liked.map((r) => r.video_id), watched: watched.map((r) => ({ video_id: r.video_id, seconds: Number(r.seconds) })) };
}

/** The newest likes, at most `limit` (the feed's training data and offline evaluation). */
export async function recentLikes(db: Db, limit: number): Promise<Array<{ user_id: string; video_id: string; created_at: string }>> {
  return db.kysely.selectFrom('video_likes').select(['user_id', 'video_id', 'created_at']).orderBy('created_at', 'desc').limit(limit).execute();
}

/** The most recently reported watch totals (one row per user and video), at most `limit`. */
export async function recentWatch(db: Db, limit: number): Promise<Array<{ user_id: string; video_id: string; seconds: number; updated_at: string }>> {
  const rows = await db.kysely.selectFrom('video_watch').select(['user_id', 'video_id', 'seconds', 'updated_at']).orderBy('updated_at', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, seconds: Number(r.seconds) }));
}

/** The newest views (signed-out ones with a null user), at most `limit`. */
export async function recentViews(db: Db, limit: number): Promise<Array<{ user_id: string | null; video_id: string; created_at: string }>> {
  return db.kysely.selectFrom('video_views').select(['user_id', 'video_id', 'created_at']).orderBy('created_at', 'desc').limit(limit).execute();
}

/** How many times each signed-in user viewed each video, at most `limit` pairs. */
export async function viewsPerUser(db: Db, limit: number): Promise<Array<{ user_id: string; video_id: string; n: number }>> {
  const rows = await db.kysely
    .selectFrom('video_views')
    .select(['user_id', 'video_id', sql<number>`count(*)`.as('n')])
    .where('user_id', 'is not', null)
    .groupBy(['user_id', 'video_id'])
    .limit(limit)
    .execute();
  return rows.map((r) => ({ user_id: r.user_id as string, video_id: r.video_id, n: Number(r.n) }));
}
