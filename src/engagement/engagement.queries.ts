// Read-only questions other capabilities (the feed) ask about engagement, so that only this
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
