// Engagement rules: a view counts once per viewer per video per window (signed-in users by id,
// anonymous ones by a client viewer id or else their address, both keyed-hashed so no raw address
// is stored), likes are idempotent, watch time accumulates up to an allowance per user and video
// per window, so a looping client cannot inflate trending. Events go out with the change.
import { createHmac } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { EngagementConfig } from '../config.js';
import { appendEvent } from '../events/outbox.repository.js';
import { ConflictError, NotFoundError, RateLimitedError } from '../http/errors.js';
import type { Executor } from '../infra/db/database.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import type { VideosRepository } from '../videos/videos.repository.js';
import type { EngagementRepository } from './engagement.repository.js';

/** Per window, a user's watch time on a video counts up to this many times the video's duration. */
export const WATCH_DURATION_MULTIPLE = 1;
/**
 * And no more than the window's length at this playback rate: without it a long video's duration
 * alone would allow hours of watch time every window.
 */
export const WATCH_MAX_PLAYBACK_RATE = 2;
/**
 * A report counts only when at least this much of it fits (or all of it, or the whole allowance of
 * a shorter video, if less): the allowance refills by crumbs, and a crumb each is not worth a write
 * and an event per report.
 */
const WATCH_MIN_COUNTED_SECONDS = 1;
/** Compare-and-set rounds for one report; only concurrent reports of one user for one video loop. */
const WATCH_SPEND_ATTEMPTS = 20;

/**
 * Seconds of watch time one user can add to one video at once, refilled over a window
 * (`VIEW_DEDUP_SECONDS`, as for views): a whole viewing counts, a loop adds about one viewing per
 * window (at most two within any one window).
 */
export function watchAllowance(durationSeconds: number | null, windowSeconds: number): number {
  const byClock = windowSeconds * WATCH_MAX_PLAYBACK_RATE;
  if (durationSeconds === null || !Number.isFinite(durationSeconds)) return byClock;
  return Math.max(0, Math.min(durationSeconds * WATCH_DURATION_MULTIPLE, byClock));
}

export interface Viewer {
  userId: string | null;
  /** An anonymous client's own stable id (e.g. kept in local storage), if it sends one. */
  viewerId?: string;
  ip: string;
}

export class EngagementService {
  private hashKey: Promise<string> | null = null;

  constructor(
    private readonly repo: EngagementRepository,
    private readonly videos: Pick<VideosRepository, 'engagementView'>,
    private readonly limiter: RateLimiter,
    private readonly opts: EngagementConfig,
    /** Told after a user's like or counted watch committed (the feed refreshes what it keeps of them). */
    private readonly acted: (userId: string, videoId: string) => Promise<void> = async () => {},
  ) {}

  /** A private video exists only for its owner here (as on every read route). */
  private async readyVideo(id: string, userId: string | null): Promise<{ id: string; owner_id: string; duration_seconds: number | null }> {
    const v = await this.videos.engagementView(id);
    if (!v || (v.visibility === 'private' && v.owner_id !== userId)) throw new NotFoundError(`No video ${id}.`);
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
    await this.readyVideo(videoId, viewer.userId);
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
    await this.readyVideo(videoId, userId);
    const now = new Date().toISOString();
    let changed = false;
    const result = await this.repo.db.kysely.transaction().execute(async (trx) => {
      changed = liked ? await this.repo.insertLike(trx, videoId, userId, now) : await this.repo.deleteLike(trx, videoId, userId);
      if (changed) {
        await this.repo.addStats(trx, videoId, { likes: liked ? 1 : -1 }, now);
        await appendEvent(trx, 'video.liked', videoId, { video_id: videoId, user_id: userId, liked, timestamp: now });
      }
      const stats = await this.repo.stats(videoId, trx);
      return { video_id: videoId, liked, likes: stats.likes };
    });
    if (changed) await this.acted(userId, videoId);
    return result;
  }

  /**
   * Adds watch time, as much of `seconds` as the user's allowance for this video has left; the
   * rest is accepted and ignored (players report on a timer and need no error for it).
   */
  async watch(videoId: string, userId: string, seconds: number): Promise<{ video_id: string; watched_seconds: number; counted_seconds: number }> {
    const video = await this.readyVideo(videoId, userId);
    // Reports that count nothing still cost reads; a loop of them is cut off here.
    const hit = await this.limiter.hit(`watch:${userId}:${videoId}`, this.opts.watchReportsPerMinute, 60);
    if (!hit.allowed) throw new RateLimitedError('Too many watch reports for this video; try again later.', hit.retryAfterSeconds);
    const allowance = watchAllowance(video.duration_seconds, this.opts.viewDedupSeconds);
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const result = await this.repo.db.kysely.transaction().execute(async (trx) => {
      const counted = await this.spendWatch(trx, videoId, userId, seconds, allowance, nowMs);
      if (counted === 0) {
        const total = await this.repo.watchedSeconds(videoId, userId, trx);
        return { video_id: videoId, watched_seconds: Math.round(total * 1000) / 1000, counted_seconds: 0 };
      }
      const total = await this.repo.addWatch(trx, videoId, userId, counted, now);
      await this.repo.addStats(trx, videoId, { watch_seconds: counted }, now);
      // The counted seconds of this report (not the total), so consumers can sum them.
      await appendEvent(trx, 'video.watched', videoId, { video_id: videoId, user_id: userId, seconds: counted, timestamp: now });
      return { video_id: videoId, watched_seconds: Math.round(total * 1000) / 1000, counted_seconds: counted };
    });
    if (result.counted_seconds > 0) await this.acted(userId, videoId);
    return result;
  }

  /**
   * Takes up to `seconds` from the user's allowance (GCRA: the mark is when the allowance is full
   * again; each counted second moves it on by window / allowance) and returns how many it took.
   */
  private async spendWatch(trx: Executor, videoId: string, userId: string, seconds: number, allowance: number, nowMs: number): Promise<number> {
    if (allowance <= 0) return 0;
    const windowMs = this.opts.viewDedupSeconds * 1000;
    const msPerSecond = windowMs / allowance;
    const key = `w:u:${userId}`;
    for (let i = 0; i < WATCH_SPEND_ATTEMPTS; i++) {
      const mark = await this.repo.watchMark(trx, videoId, key);
      const fullAt = Math.max(mark === undefined ? nowMs : Date.parse(mark), nowMs);
      const left = (nowMs + windowMs - fullAt) / msPerSecond;
      if (left < Math.min(seconds, WATCH_MIN_COUNTED_SECONDS, allowance)) return 0;
      const counted = Math.floor(Math.min(seconds, left) * 1000) / 1000;
      if (counted <= 0) return 0;
      const next = new Date(Math.ceil(fullAt + counted * msPerSecond)).toISOString();
      const moved = mark === undefined ? await this.repo.insertWatchMark(trx, videoId, key, next) : await this.repo.moveWatchMark(trx, videoId, key, mark, next);
      if (moved) return counted;
    }
    // A burst of simultaneous reports from one user: the ones that lost every round add nothing.
    return 0;
  }

  /** The video's counts; a video the caller may not see (not ready, not theirs) reads as absent, as on GET /videos/{id}. */
  async summary(videoId: string, caller: { id: string; role: string } | null) {
    const v = await this.videos.engagementView(videoId);
    const privileged = caller !== null && (caller.id === v?.owner_id || caller.role === 'admin');
    const visible = v && (privileged || (v.status === 'ready' && v.visibility !== 'private'));
    if (!visible) throw new NotFoundError(`No video ${videoId}.`);
    const userId = caller?.id ?? null;
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
