// Engagement rows: counted views and their de-duplication marks, likes, watch time (with the mark
// that paces it) and the running totals per video. Every write takes the caller's transaction so the
// outbox event commits with it.
import { randomBytes } from 'node:crypto';
import type { Db, Executor } from '../infra/db/database.js';

export interface VideoViewTable {
  id: string;
  video_id: string;
  viewer_key: string;
  user_id: string | null;
  created_at: string;
}

export interface VideoViewMarkTable {
  video_id: string;
  viewer_key: string;
  counted_at: string;
}

export interface VideoLikeTable {
  video_id: string;
  user_id: string;
  created_at: string;
}

export interface VideoWatchTable {
  video_id: string;
  user_id: string;
  seconds: number;
  created_at: string;
  updated_at: string;
}

export interface VideoStatsTable {
  video_id: string;
  views: number;
  likes: number;
  watch_seconds: number;
  updated_at: string;
}

export interface EngagementKeyTable {
  name: string;
  value: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    video_views: VideoViewTable;
    video_view_marks: VideoViewMarkTable;
    video_likes: VideoLikeTable;
    video_watch: VideoWatchTable;
    video_stats: VideoStatsTable;
    engagement_keys: EngagementKeyTable;
  }
}

export interface VideoStats {
  views: number;
  likes: number;
  watch_seconds: number;
}

export class EngagementRepository {
  constructor(readonly db: Db) {}

  /**
   * Marks a view by `viewerKey` unless one was counted after `cutoff`. One statement: the upsert
   * only rewrites an expired mark, so two racing requests cannot both count.
   */
  async markView(trx: Executor, videoId: string, viewerKey: string, now: string, cutoff: string): Promise<boolean> {
    const row = await trx
      .insertInto('video_view_marks')
      .values({ video_id: videoId, viewer_key: viewerKey, counted_at: now })
      .onConflict((oc) => oc.columns(['video_id', 'viewer_key']).doUpdateSet({ counted_at: now }).where('video_view_marks.counted_at', '<=', cutoff))
      .returning('video_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async insertView(trx: Executor, row: VideoViewTable): Promise<void> {
    await trx.insertInto('video_views').values(row).execute();
  }

  async addStats(trx: Executor, videoId: string, delta: Partial<VideoStats>, now: string): Promise<void> {
    const views = delta.views ?? 0;
    const likes = delta.likes ?? 0;
    const watch = delta.watch_seconds ?? 0;
    await trx
      .insertInto('video_stats')
      .values({ video_id: videoId, views: Math.max(0, views), likes: Math.max(0, likes), watch_seconds: Math.max(0, watch), updated_at: now })
      .onConflict((oc) =>
        oc.column('video_id').doUpdateSet((eb) => ({
          views: eb('video_stats.views', '+', views),
          likes: eb('video_stats.likes', '+', likes),
          watch_seconds: eb('video_stats.watch_seconds', '+', watch),
          updated_at: now,
        })),
      )
      .execute();
  }

  async stats(videoId: string, trx: Executor = this.db.kysely): Promise<VideoStats> {
    const row = await trx.selectFrom('video_stats').select(['views', 'likes', 'watch_seconds']).where('video_id', '=', videoId).executeTakeFirst();
    return { views: Number(row?.views ?? 0), likes: Number(row?.likes ?? 0), watch_seconds: Number(row?.watch_seconds ?? 0) };
  }

  /** Counted views of each of `ids` that has any (trending's cards); absent ids have none. */
  async viewCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.kysely.selectFrom('video_stats').select(['video_id', 'views']).where('video_id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.video_id, Number(r.views)]));
  }

  /** True when the like is new. */
  async insertLike(trx: Executor, videoId: string, userId: string, now: string): Promise<boolean> {
    const row = await trx
      .insertInto('video_likes')
      .values({ video_id: videoId, user_id: userId, created_at: now })
      .onConflict((oc) => oc.columns(['video_id', 'user_id']).doNothing())
      .returning('video_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** True when there was a like to remove. */
  async deleteLike(trx: Executor, videoId: string, userId: string): Promise<boolean> {
    const res = await trx.deleteFrom('video_likes').where('video_id', '=', videoId).where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async hasLiked(videoId: string, userId: string): Promise<boolean> {
    const row = await this.db.kysely.selectFrom('video_likes').select('video_id').where('video_id', '=', videoId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  /** Adds watch time for a user and returns their total on this video. */
  async addWatch(trx: Executor, videoId: string, userId: string, seconds: number, now: string): Promise<number> {
    const row = await trx
      .insertInto('video_watch')
      .values({ video_id: videoId, user_id: userId, seconds, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['video_id', 'user_id']).doUpdateSet((eb) => ({ seconds: eb('video_watch.seconds', '+', seconds), updated_at: now })))
      .returning('seconds')
      .executeTakeFirstOrThrow();
    return Number(row.seconds);
  }

  async watchedSeconds(videoId: string, userId: string, trx: Executor = this.db.kysely): Promise<number> {
    const row = await trx.selectFrom('video_watch').select('seconds').where('video_id', '=', videoId).where('user_id', '=', userId).executeTakeFirst();
    return Number(row?.seconds ?? 0);
  }

  /*
   * Watch pacing shares `video_view_marks` with views, under its own keys (`w:u:<user id>`): there
   * `counted_at` is the time at which the user's watch allowance for the video is full again (a
   * GCRA "theoretical arrival time"), so one timestamp paces a rolling window. It only changes by
   * compare-and-set, so concurrent reports from one user cannot spend one allowance twice.
   */

  async watchMark(trx: Executor, videoId: string, key: string): Promise<string | undefined> {
    const row = await trx.selectFrom('video_view_marks').select('counted_at').where('video_id', '=', videoId).where('viewer_key', '=', key).executeTakeFirst();
    return row?.counted_at;
  }

  /** True when the mark was created (false: another request created it first). */
  async insertWatchMark(trx: Executor, videoId: string, key: string, at: string): Promise<boolean> {
    const row = await trx
      .insertInto('video_view_marks')
      .values({ video_id: videoId, viewer_key: key, counted_at: at })
      .onConflict((oc) => oc.columns(['video_id', 'viewer_key']).doNothing())
      .returning('video_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Moves the mark from `from` to `to`; false when another request moved it first. */
  async moveWatchMark(trx: Executor, videoId: string, key: string, from: string, to: string): Promise<boolean> {
    const res = await trx.updateTable('video_view_marks').set({ counted_at: to }).where('video_id', '=', videoId).where('viewer_key', '=', key).where('counted_at', '=', from).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** The instance's key for hashing anonymous viewers, created once and shared by every node. */
  async secret(name: string): Promise<string> {
    const found = await this.db.kysely.selectFrom('engagement_keys').select('value').where('name', '=', name).executeTakeFirst();
    if (found) return found.value;
    await this.db.kysely
      .insertInto('engagement_keys')
      .values({ name, value: randomBytes(32).toString('base64url') })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.kysely.selectFrom('engagement_keys').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}
