// Reads for the feed's trainer and offline evaluation: the raw interactions training examples come
// from, asked of the capabilities that own them (videos, engagement, channels) through the query
// functions the repository is built with. Serving reads nothing here: it uses the maintained read
// model (feed.state).
import { followPairs } from '../channels/channels.queries.js';
import { recentLikes, recentViews, recentWatch, videoTotals, viewsPerUser, type VideoTotals } from '../engagement/engagement.queries.js';
import type { Db } from '../infra/db/database.js';
import { newestListedVideos, newestReadyVideos, type ListedVideoFacts, type ReadyVideoFacts } from '../videos/videos.queries.js';
import type { World, WorldEvent } from './feed.world.js';

/** Where the trainer's data comes from: the owning capabilities' query functions, each bounded by `limit`. */
export interface FeedTrainingSources {
  /** The newest ready videos, whatever their visibility. */
  readyVideos(limit: number): Promise<ReadyVideoFacts[]>;
  /** The newest listed (ready, public, not hidden) videos. */
  listedVideos(limit: number): Promise<ListedVideoFacts[]>;
  /** Engagement totals of these videos; a video nobody engaged with is absent. */
  totals(ids: string[]): Promise<Map<string, VideoTotals>>;
  likes(limit: number): Promise<Array<{ user_id: string; video_id: string; created_at: string }>>;
  watch(limit: number): Promise<Array<{ user_id: string; video_id: string; seconds: number; updated_at: string }>>;
  views(limit: number): Promise<Array<{ user_id: string | null; video_id: string; created_at: string }>>;
  viewsPerUser(limit: number): Promise<Array<{ user_id: string; video_id: string; n: number }>>;
  follows(limit: number): Promise<Array<{ follower_id: string; followee_id: string }>>;
}

/** The sources of an instance's database, for `nova train` and `model:eval`. */
export function databaseTrainingSources(db: Db): FeedTrainingSources {
  return {
    readyVideos: (limit) => newestReadyVideos(db, limit),
    listedVideos: (limit) => newestListedVideos(db, limit),
    totals: (ids) => videoTotals(db, ids),
    likes: (limit) => recentLikes(db, limit),
    watch: (limit) => recentWatch(db, limit),
    views: (limit) => recentViews(db, limit),
    viewsPerUser: (limit) => viewsPerUser(db, limit),
    follows: (limit) => followPairs(db, limit),
  };
}

export class FeedRepository {
  constructor(private readonly src: FeedTrainingSources) {}

  /** Everything the trainer reads, bounded so a large instance does not exhaust memory. */
  async trainingData(maxRows: number) {
    const ready = await this.src.readyVideos(maxRows);
    const totals = await this.src.totals(ready.map((v) => v.id));
    const likes = await this.src.likes(maxRows);
    const watch = await this.src.watch(maxRows);
    const views = await this.src.viewsPerUser(maxRows);
    return {
      videos: ready.map((v) => ({ ...v, views: totals.get(v.id)?.views ?? 0, likes: totals.get(v.id)?.likes ?? 0 })),
      likes: likes.map((l) => ({ user_id: l.user_id, video_id: l.video_id })),
      watch: watch.map((w) => ({ user_id: w.user_id, video_id: w.video_id, seconds: w.seconds })),
      views,
    };
  }

  /** Follow pairs, most recent first, at most `maxRows`. */
  follows(maxRows: number): Promise<Array<{ follower_id: string; followee_id: string }>> {
    return this.src.follows(maxRows);
  }

  /** The instance's engagement as a time-ordered world for the offline evaluation (feed.offline.ts). */
  async engagementWorld(maxRows: number, nowMs: number): Promise<World> {
    const videos = await this.src.listedVideos(maxRows);
    const views = await this.src.views(maxRows);
    const likes = await this.src.likes(maxRows);
    const watch = await this.src.watch(maxRows);
    const follows = await this.src.follows(maxRows);
    const events: WorldEvent[] = [
      ...views.map((v) => ({ user: v.user_id ?? '', video: v.video_id, atMs: Date.parse(v.created_at), kind: 'view' as const })),
      ...likes.map((l) => ({ user: l.user_id, video: l.video_id, atMs: Date.parse(l.created_at), kind: 'like' as const })),
      // A watch row is the running total; it is dated by its last report.
      ...watch.map((w) => ({ user: w.user_id, video: w.video_id, atMs: Date.parse(w.updated_at), kind: 'watch' as const, seconds: w.seconds })),
    ].sort((a, b) => a.atMs - b.atMs);
    return {
      videos: videos.map((v) => ({ id: v.id, ownerId: v.owner_id, publishedAtMs: Date.parse(v.ready_at ?? v.created_at), durationSeconds: v.duration_seconds })),
      events,
      follows: follows.map((f) => ({ follower: f.follower_id, followee: f.followee_id })),
      endMs: nowMs,
    };
  }
}
