// Reads for the feed's trainer and offline evaluation: the raw interactions training examples come
// from. Serving reads nothing here: it uses the maintained read model (feed.state).
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';
import '../engagement/engagement.repository.js';
import '../channels/follows.repository.js';
import type { World, WorldEvent } from './feed.world.js';

export class FeedRepository {
  constructor(private readonly db: Db) {}

  /** Everything the trainer reads, bounded so a large instance does not exhaust memory. */
  async trainingData(maxRows: number) {
    const k = this.db.kysely;
    const videos = await k
      .selectFrom('videos as v')
      .leftJoin('video_stats as s', 's.video_id', 'v.id')
      .select(['v.id', 'v.owner_id', 'v.created_at', 'v.ready_at', 'v.duration_seconds', sql<number>`coalesce(s.views, 0)`.as('views'), sql<number>`coalesce(s.likes, 0)`.as('likes')])
      .where('v.status', '=', 'ready')
      .orderBy('v.created_at', 'desc')
      .limit(maxRows)
      .execute();
    const likes = await k.selectFrom('video_likes').select(['user_id', 'video_id']).orderBy('created_at', 'desc').limit(maxRows).execute();
    const watch = await k.selectFrom('video_watch').select(['user_id', 'video_id', 'seconds']).orderBy('updated_at', 'desc').limit(maxRows).execute();
    const views = await k
      .selectFrom('video_views')
      .select(['user_id', 'video_id', sql<number>`count(*)`.as('n')])
      .where('user_id', 'is not', null)
      .groupBy(['user_id', 'video_id'])
      .limit(maxRows)
      .execute();
    return {
      videos: videos.map((v) => ({ ...v, views: Number(v.views), likes: Number(v.likes) })),
      likes,
      watch: watch.map((w) => ({ ...w, seconds: Number(w.seconds) })),
      views: views.map((v) => ({ user_id: v.user_id as string, video_id: v.video_id, n: Number(v.n) })),
    };
  }
}

/** The instance's engagement as a time-ordered world for the offline evaluation (feed.offline.ts). */
export async function engagementWorld(db: Db, maxRows: number, nowMs: number): Promise<World> {
  const k = db.kysely;
  const videos = await k
    .selectFrom('videos')
    .select(['id', 'owner_id', 'created_at', 'ready_at', 'duration_seconds'])
    .where('status', '=', 'ready')
    .where('visibility', '=', 'public')
    .where('hidden_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(maxRows)
    .execute();
  const views = await k.selectFrom('video_views').select(['user_id', 'video_id', 'created_at']).orderBy('created_at', 'desc').limit(maxRows).execute();
  const likes = await k.selectFrom('video_likes').select(['user_id', 'video_id', 'created_at']).orderBy('created_at', 'desc').limit(maxRows).execute();
  const watch = await k.selectFrom('video_watch').select(['user_id', 'video_id', 'seconds', 'updated_at']).orderBy('updated_at', 'desc').limit(maxRows).execute();
  const follows = await k.selectFrom('follows').select(['follower_id', 'followee_id']).limit(maxRows).execute();
  const events: WorldEvent[] = [
    ...views.map((v) => ({ user: v.user_id ?? '', video: v.video_id, atMs: Date.parse(v.created_at), kind: 'view' as const })),
    ...likes.map((l) => ({ user: l.user_id, video: l.video_id, atMs: Date.parse(l.created_at), kind: 'like' as const })),
    // A watch row is the running total; it is dated by its last report.
    ...watch.map((w) => ({ user: w.user_id, video: w.video_id, atMs: Date.parse(w.updated_at), kind: 'watch' as const, seconds: Number(w.seconds) })),
  ].sort((a, b) => a.atMs - b.atMs);
  return {
    videos: videos.map((v) => ({ id: v.id, ownerId: v.owner_id, publishedAtMs: Date.parse(v.ready_at ?? v.created_at), durationSeconds: v.duration_seconds })),
    events,
    follows: follows.map((f) => ({ follower: f.follower_id, followee: f.followee_id })),
    endMs: nowMs,
  };
}
