// Reads for the feed and its trainer: candidate videos with their engagement totals, what a user
// did per creator, creators' like totals, and the raw interactions training examples come from.
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';
import '../engagement/engagement.repository.js';
import '../channels/follows.repository.js';
import type { World, WorldEvent } from './feed.world.js';

export interface CandidateRow {
  id: string;
  owner_id: string;
  title: string;
  created_at: string;
  ready_at: string | null;
  duration_seconds: number | null;
  views: number;
  likes: number;
  watch_seconds: number;
}

export class FeedRepository {
  constructor(private readonly db: Db) {}

  private candidateQuery(userId: string) {
    const k = this.db.kysely;
    return k
      .selectFrom('videos as v')
      .leftJoin('video_stats as s', 's.video_id', 'v.id')
      .select([
        'v.id', 'v.owner_id', 'v.title', 'v.created_at', 'v.ready_at', 'v.duration_seconds',
        sql<number>`coalesce(s.views, 0)`.as('views'),
        sql<number>`coalesce(s.likes, 0)`.as('likes'),
        sql<number>`coalesce(s.watch_seconds, 0)`.as('watch_seconds'),
      ])
      .where('v.status', '=', 'ready')
      .where('v.visibility', '=', 'public')
      .where('v.hidden_at', 'is', null)
      .where('v.owner_id', '!=', userId)
      // Not yet watched (or liked, which implies it was seen).
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('video_watch as w').select('w.video_id').whereRef('w.video_id', '=', 'v.id').where('w.user_id', '=', userId))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('video_likes as l').select('l.video_id').whereRef('l.video_id', '=', 'v.id').where('l.user_id', '=', userId))));
  }

  /**
   * Recent ready videos plus the most engaged-with ones, de-duplicated, at most `limit`; the recent
   * videos of followed creators come first, so a follow always brings its creator's new videos in.
   */
  async candidates(userId: string, sinceIso: string, limit: number, followees: string[] = []): Promise<CandidateRow[]> {
    const followed = followees.length
      ? await this.candidateQuery(userId).where('v.owner_id', 'in', followees.slice(0, 1000)).where('v.created_at', '>=', sinceIso).orderBy('v.created_at', 'desc').limit(Math.ceil(limit / 4)).execute()
      : [];
    const rest = limit - followed.length;
    const half = Math.max(1, Math.ceil(rest / 2));
    const recent = await this.candidateQuery(userId).where('v.created_at', '>=', sinceIso).orderBy('v.created_at', 'desc').limit(limit).execute();
    const out = new Map<string, CandidateRow>();
    for (const r of followed) out.set(r.id, r);
    const popular = await this.candidateQuery(userId)
      .orderBy(sql`coalesce(s.likes, 0) * 3 + coalesce(s.views, 0) + coalesce(s.watch_seconds, 0) / 60`, 'desc')
      .orderBy('v.created_at', 'desc')
      .limit(half)
      .execute();
    // Keep room for the popular half when there are more recent videos than the budget.
    for (const r of recent.slice(0, Math.max(rest - popular.length, half))) if (out.size < limit) out.set(r.id, r);
    for (const r of popular) if (out.size < limit) out.set(r.id, r);
    for (const r of recent) if (out.size < limit) out.set(r.id, r);
    return [...out.values()].map((r) => ({ ...r, views: Number(r.views), likes: Number(r.likes), watch_seconds: Number(r.watch_seconds) }));
  }

  /** Of these videos, the ones still listed (ready and public): a cached list never outlives an edit. */
  async stillListed(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.kysely.selectFrom('videos').select('id').where('id', 'in', ids).where('status', '=', 'ready').where('visibility', '=', 'public').where('hidden_at', 'is', null).execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Changes whenever the user likes, unlikes or reports watch time: the feed cache's key. */
  async activityStamp(userId: string): Promise<string> {
    const k = this.db.kysely;
    const l = await k.selectFrom('video_likes').select([sql<number>`count(*)`.as('n'), sql<string>`max(created_at)`.as('at')]).where('user_id', '=', userId).executeTakeFirst();
    const w = await k.selectFrom('video_watch').select([sql<number>`count(*)`.as('n'), sql<number>`sum(seconds)`.as('s'), sql<string>`max(updated_at)`.as('at')]).where('user_id', '=', userId).executeTakeFirst();
    return `${l?.n ?? 0}:${l?.at ?? ''}:${w?.n ?? 0}:${w?.s ?? 0}:${w?.at ?? ''}`;
  }

  /** The user's likes and watch seconds per creator. */
  async userAffinity(userId: string): Promise<{ likes: Map<string, number>; watch: Map<string, number> }> {
    const k = this.db.kysely;
    const likes = await k
      .selectFrom('video_likes as l')
      .innerJoin('videos as v', 'v.id', 'l.video_id')
      .select(['v.owner_id', sql<number>`count(*)`.as('n')])
      .where('l.user_id', '=', userId)
      .groupBy('v.owner_id')
      .execute();
    const watch = await k
      .selectFrom('video_watch as w')
      .innerJoin('videos as v', 'v.id', 'w.video_id')
      .select(['v.owner_id', sql<number>`sum(w.seconds)`.as('s')])
      .where('w.user_id', '=', userId)
      .groupBy('v.owner_id')
      .execute();
    return {
      likes: new Map(likes.map((r) => [r.owner_id, Number(r.n)])),
      watch: new Map(watch.map((r) => [r.owner_id, Number(r.s)])),
    };
  }

  /** Total likes on each creator's videos. */
  async creatorLikes(ownerIds: string[]): Promise<Map<string, number>> {
    if (ownerIds.length === 0) return new Map();
    const rows = await this.db.kysely
      .selectFrom('videos as v')
      .innerJoin('video_stats as s', 's.video_id', 'v.id')
      .select(['v.owner_id', sql<number>`sum(s.likes)`.as('n')])
      .where('v.owner_id', 'in', ownerIds)
      .groupBy('v.owner_id')
      .execute();
    return new Map(rows.map((r) => [r.owner_id, Number(r.n)]));
  }

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
