// Engagement rules: a view counts once per viewer per video per window (signed-in users by id,
// anonymous ones by a client viewer id or else their address, both keyed-hashed so no raw address
// is stored), likes are idempotent, watch time accumulates. Events go out with the change.
import { createHmac } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { EngagementConfig } from '../config.js';
import { appendEvent } from '../events/outbox.repository.js';
import { ConflictError, NotFoundError, RateLimitedError } from '../http/errors.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import type { EngagementRepository } from './engagement.repository.js';

export interface Viewer {
  userId: string | null;
  /** An anonymous client's own stable id (e.g. kept in local storage), if it sends one. */
  viewerId?: string;
  ip: string;
}

export class EngagementService {
  private hashKey: Promise<string> | null = null;

  constructor(private readonly repo: EngagementRepository, private readonly limiter: RateLimiter, private readonly opts: EngagementConfig) {}

  private async readyVideo(id: string): Promise<{ id: string; owner_id: string }> {
    const v = await this.repo.video(id);
    if (!v) throw new NotFoundError(`No video ${id}.`);
    if (v.status !== 'ready') throw new ConflictError(`Video ${id} is ${v.status}; engagement counts once it is ready.`);
    return v;
  }

  private async viewerKey(viewer: Viewer): Promise<string> {
    if (viewer.userId) return `u:${viewer.userId}`;
    this.hashKey ??= this.repo.secret('viewer_hash').catch((err) => {
      this.hashKey = null;
      throw err;
    });
    const key = await this.hashKey;
    const basis = viewer.viewerId ? `v:${viewer.viewerId}` : `ip:${viewer.ip}`;
    return `a:${createHmac('sha256', key).update(basis).digest('base64url').slice(0, 32)}`;
  }

  async view(videoId: string, viewer: Viewer): Promise<{ video_id: string; counted: boolean; views: number }> {
    await this.readyVideo(videoId);
    if (!viewer.userId) {
      // Anonymous ids are free to mint, so the address bounds how many views one client can add.
      const hit = await this.limiter.hit(`views:ip:${viewer.ip}`, this.opts.anonymousViewsPerMinute, 60);
      if (!hit.allowed) throw new RateLimitedError('Too many views from this address; try again later.', hit.retryAfterSeconds);
    }
    const viewerKey = await this.viewerKey(viewer);
    const now = new Date();
    const nowIso = now.toISOString();
    const cutoff = new Date(now.getTime() - this.opts.viewDedupSeconds * 1000).toISOString();
    return this.repo.db.kysely.transaction().execute(async (trx) => {
      const counted = await this.repo.markView(trx, videoId, viewerKey, nowIso, cutoff);
      if (counted) {
        await this.repo.insertView(trx, { id: uuidv7(), video_id: videoId, viewer_key: viewerKey, user_id: viewer.userId, created_at: nowIso });
        await this.repo.addStats(trx, videoId, { views: 1 }, nowIso);
        await appendEvent(trx, 'video.viewed', videoId, { video_id: videoId, viewer_id: viewer.userId, timestamp: nowIso });
      }
      const stats = await this.repo.stats(videoId, trx);
      return { video_id: videoId, counted, views: stats.views };
    });
  }

  /** Sets or clears the user's like. Repeating either is a no-op with the same answer. */
  async like(videoId: string, userId: string, liked: boolean): Promise<{ video_id: string; liked: boolean; likes: number }> {
    await this.readyVideo(videoId);
    const now = new Date().toISOString();
    return this.repo.db.kysely.transaction().execute(async (trx) => {
      const changed = liked ? await this.repo.insertLike(trx, videoId, userId, now) : await this.repo.deleteLike(trx, videoId, userId);
      if (changed) {
        await this.repo.addStats(trx, videoId, { likes: liked ? 1 : -1 }, now);
        await appendEvent(trx, 'video.liked', videoId, { video_id: videoId, user_id: userId, liked, timestamp: now });
      }
      const stats = await this.repo.stats(videoId, trx);
      return { video_id: videoId, liked, likes: stats.likes };
    });
  }

  async watch(videoId: string, userId: string, seconds: number): Promise<{ video_id: string; watched_seconds: number }> {
    await this.readyVideo(videoId);
    const now = new Date().toISOString();
    return this.repo.db.kysely.transaction().execute(async (trx) => {
      const total = await this.repo.addWatch(trx, videoId, userId, seconds, now);
      await this.repo.addStats(trx, videoId, { watch_seconds: seconds }, now);
      // The seconds of this report (not the total), so consumers can sum them.
      await appendEvent(trx, 'video.watched', videoId, { video_id: videoId, user_id: userId, seconds, timestamp: now });
      return { video_id: videoId, watched_seconds: Math.round(total * 1000) / 1000 };
    });
  }

  async summary(videoId: string, userId: string | null) {
    const v = await this.repo.video(videoId);
    if (!v) throw new NotFoundError(`No video ${videoId}.`);
    const stats = await this.repo.stats(videoId);
    return {
      video_id: videoId,
      views: stats.views,
      likes: stats.likes,
      watch_seconds: Math.round(stats.watch_seconds * 1000) / 1000,
      liked: userId ? await this.repo.hasLiked(videoId, userId) : null,
      watched_seconds: userId ? await this.repo.watchedSeconds(videoId, userId) : null,
    };
  }
}
