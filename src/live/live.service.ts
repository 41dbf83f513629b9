// Live streams: creation with a stream key (single-use, or reusable across broadcasts), the
// idle → live → ended (or back to idle) lifecycle with its outbox events, the reconnect window,
// viewer counts, and in-process hooks other capabilities (chat) use. RTMP and ffmpeg live in
// live.ingest / live.transcoder; this module decides.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { AuthUser } from '../accounts/accounts.service.js';
import { appendEvent } from '../events/outbox.repository.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../http/errors.js';
import { cleanLine } from '../shared/text.js';
import type { Logger } from '../infra/logger.js';
import { LocalViewerPresence, type ViewerPresence } from './live.presence.js';
import { LiveRepository, type BroadcastRow, type StreamRow, type StreamStatus } from './live.repository.js';
import { ViewerTracker } from './live.viewers.js';
import type { IngestHealthJson } from './live.schemas.js';

export interface LiveOptions {
  reconnectWindowSeconds: number;
  maxDurationSeconds: number;
  /** Segment length of the live HLS ladder; viewer expiry is derived from it. */
  segmentSeconds: number;
  /** Distinct viewers of a stream counted per client address; 0 or unset: no limit. */
  maxViewersPerAddress?: number;
  /** How often lifecycle sweeps run (reconnect timeouts, duration cap, viewer counts). */
  tickMs?: number;
  /** False when the creator's account may not publish (an admin disabled it); all may when unset. */
  creatorActive?: (creatorId: string) => Promise<boolean>;
}

/** The public view of a stream, as other capabilities (chat) see it. */
export interface LiveStream {
  id: string;
  creator_id: string;
  title: string;
  status: StreamStatus;
  started_at: string | null;
  ended_at: string | null;
  viewer_count: number;
  peak_viewer_count: number;
  recording_video_id: string | null;
  created_at: string;
  /** Present only when set at creation, so single-use streams read exactly as before. */
  reusable?: boolean;
  dvr_window_seconds?: number;
  clips_by_viewers?: boolean;
  /** Present while live: whether an encoder is publishing now (false during a reconnect window). */
  encoder_connected?: boolean;
}

export interface CreateStreamInput {
  title: string;
  reusable?: boolean;
  dvrWindowSeconds?: number;
  clipsByViewers?: boolean;
}

export interface StreamEndedInfo {
  streamId: string;
  creatorId: string;
  broadcastId: string | null;
  /** True when the stream is over for good; false when a reusable stream went back to idle. */
  final: boolean;
  endedAt: string;
  durationSeconds: number;
  peakViewerCount: number;
  reason: string;
}

export interface StreamStartedInfo {
  streamId: string;
  creatorId: string;
  broadcastId: string;
  startedAt: string;
}

/** Why a publish was refused; logged, never shown with the key. */
export class PublishRefused extends Error {}

/** A heartbeat older than this many seconds means the ingest process holding a publisher died. */
export const PUBLISHER_STALE_SECONDS = 15;

export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function newStreamKey(): string {
  return `live_${randomBytes(24).toString('base64url')}`;
}

/** Constant-time string comparison for shared secrets. */
export function secretsEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

type Listener<T> = (info: T) => void | Promise<void>;

export class LiveService {
  readonly viewers: ViewerTracker;
  private readonly endedListeners = new Set<Listener<StreamEndedInfo>>();
  private readonly startedListeners = new Set<Listener<StreamStartedInfo>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  /** Background work run after each sweep of the loop start() began (the recording hand-off). */
  private afterTick: (() => Promise<void>) | null = null;

  /** Viewer totals: this process's own, or shared by every API process (Redis). */
  private readonly presence: ViewerPresence;

  constructor(
    readonly repo: LiveRepository,
    private readonly logger: Logger,
    readonly opts: LiveOptions,
    presence?: (tracker: ViewerTracker, ttlMs: number) => ViewerPresence,
  ) {
    // ~2 segment durations without a playlist poll and the viewer is gone (hls.js polls about once per segment).
    const ttlMs = Math.max(4, 2 * opts.segmentSeconds) * 1000;
    this.viewers = new ViewerTracker(ttlMs, opts.maxViewersPerAddress ?? 0);
    this.presence = presence?.(this.viewers, ttlMs) ?? new LocalViewerPresence(this.viewers);
  }

  // ---- hooks for other capabilities -------------------------------------------------------

  /** Calls `listener` in this process whenever a stream ends (by any path). Returns an unsubscribe. */
  onStreamEnded(listener: Listener<StreamEndedInfo>): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  onStreamStarted(listener: Listener<StreamStartedInfo>): () => void {
    this.startedListeners.add(listener);
    return () => this.startedListeners.delete(listener);
  }

  /** A chat socket (or other live presence) of `viewerId`, from `address`, opened on the stream. */
  viewerJoined(streamId: string, viewerId: string, address: string | null = null): void {
    this.viewers.joined(streamId, viewerId, address);
  }

  viewerLeft(streamId: string, viewerId: string): void {
    this.viewers.left(streamId, viewerId);
  }

  /** A playlist poll by `viewerId` from `address`. */
  viewerPolled(streamId: string, viewerId: string, address: string | null = null): void {
    this.viewers.polled(streamId, viewerId, Date.now(), address);
  }

  private emit<T>(listeners: Set<Listener<T>>, info: T): void {
    for (const l of listeners) {
      Promise.resolve()
        .then(() => l(info))
        .catch((err) => this.logger.warn({ err }, 'live listener failed'));
    }
  }

  // ---- reads ------------------------------------------------------------------------------

  toPublic(row: StreamRow): LiveStream {
    const live = row.status === 'live';
    return {
      id: row.id,
      creator_id: row.creator_id,
      title: row.title,
      status: row.status,
      started_at: row.started_at,
      ended_at: row.ended_at,
      viewer_count: live ? Math.max(row.viewer_count, this.viewers.count(row.id)) : 0,
      peak_viewer_count: live ? Math.max(row.peak_viewer_count, this.viewers.peak(row.id)) : row.peak_viewer_count,
      recording_video_id: row.recording_video_id,
      created_at: row.created_at,
      ...(row.reusable ? { reusable: true } : {}),
      ...(row.dvr_window_seconds > 0 ? { dvr_window_seconds: row.dvr_window_seconds } : {}),
      ...(row.clips_by_viewers ? { clips_by_viewers: true } : {}),
      ...(live ? { encoder_connected: this.encoderConnected(row) } : {}),
    };
  }

  /** A publisher holds the stream and its heartbeat is fresh (a crashed ingest process releases nothing). */
  private encoderConnected(row: StreamRow, now = Date.now()): boolean {
    if (row.publisher_id === null) return false;
    const beat = row.publisher_heartbeat_at ? Date.parse(row.publisher_heartbeat_at) : NaN;
    return Number.isNaN(beat) || now - beat < PUBLISHER_STALE_SECONDS * 1000;
  }

  async getStream(id: string): Promise<LiveStream | null> {
    const row = await this.repo.findById(id);
    return row ? this.toPublic(row) : null;
  }

  async requireStream(id: string): Promise<StreamRow> {
    const row = await this.repo.findById(id);
    if (!row) throw new NotFoundError(`No stream with id ${id}.`);
    return row;
  }

  async list(opts: { status?: StreamStatus; creatorId?: string; limit: number; cursor?: string }): Promise<{ items: LiveStream[]; nextCursor: string | null }> {
    const rows = await this.repo.list({ status: opts.status, creatorId: opts.creatorId, limit: opts.limit + 1, before: opts.cursor });
    const page = rows.slice(0, opts.limit);
    return { items: page.map((r) => this.toPublic(r)), nextCursor: rows.length > opts.limit ? page[page.length - 1].id : null };
  }

  // ---- creator actions --------------------------------------------------------------------

  async create(creator: AuthUser, spec: CreateStreamInput | string): Promise<{ stream: LiveStream; streamKey: string }> {
    const input = typeof spec === 'string' ? { title: spec } : spec;
    const streamKey = newStreamKey();
    const row: StreamRow = {
      id: uuidv7(),
      creator_id: creator.id,
      title: cleanLine(input.title),
      status: 'idle',
      stream_key_hash: hashStreamKey(streamKey),
      key_rotated_at: null,
      started_at: null,
      ended_at: null,
      end_reason: null,
      viewer_count: 0,
      peak_viewer_count: 0,
      publisher_id: null,
      publisher_heartbeat_at: null,
      disconnected_at: null,
      ladder: null,
      recording_state: 'none',
      recording_video_id: null,
      created_at: new Date().toISOString(),
      reusable: input.reusable ? 1 : 0,
      dvr_window_seconds: input.dvrWindowSeconds ?? 0,
      clips_by_viewers: input.clipsByViewers ? 1 : 0,
      broadcast_id: null,
      disabled_at: null,
      ingest_health: null,
    };
    await this.repo.insert(row);
    return { stream: this.toPublic(row), streamKey };
  }

  private assertCreator(row: StreamRow, user: AuthUser, allowAdmin: boolean): void {
    if (row.creator_id === user.id) return;
    if (allowAdmin && user.role === 'admin') return;
    throw new ForbiddenError(allowAdmin ? 'Only the creator of this stream or an admin can do this.' : 'Only the creator of this stream can do this.');
  }

  /** The ingest health the publisher last wrote (creator or admin); null unless live with an encoder connected. */
  async ingestHealth(id: string, user: AuthUser): Promise<{ stream: StreamRow; health: IngestHealthJson | null }> {
    const row = await this.requireStream(id);
    this.assertCreator(row, user, true);
    if (row.status !== 'live' || !row.publisher_id || !row.ingest_health) return { stream: row, health: null };
    try {
      return { stream: row, health: JSON.parse(row.ingest_health) as IngestHealthJson };
    } catch {
      return { stream: row, health: null };
    }
  }

  /** A new key; the old one is refused from now on. A publisher already connected keeps going. */
  async rotateKey(id: string, user: AuthUser): Promise<string> {
    const row = await this.requireStream(id);
    this.assertCreator(row, user, false);
    const key = newStreamKey();
    if (!(await this.repo.rotateKey(id, hashStreamKey(key), new Date().toISOString()))) {
      throw new ConflictError('This stream has ended; create a new stream instead.');
    }
    return key;
  }

  async end(id: string, user: AuthUser): Promise<LiveStream> {
    const row = await this.requireStream(id);
    this.assertCreator(row, user, true);
    if (row.status === 'ended') throw new ConflictError('This stream has already ended.');
    if (row.status === 'idle' && row.reusable) {
      throw new ConflictError('This reusable stream is not live; its key keeps working. Delete the stream to disable it for good.');
    }
    if (row.status === 'idle') {
      const now = new Date().toISOString();
      // Never live, so no stream.ended goes out; in-process listeners (chat) still close its room.
      if (await this.repo.endIdle(id, now, 'ended_by_user')) {
        this.emit(this.endedListeners, { streamId: id, creatorId: row.creator_id, broadcastId: null, final: true, endedAt: now, durationSeconds: 0, peakViewerCount: 0, reason: 'ended_by_user' });
      }
    } else {
      await this.endLive(id, 'ended_by_user');
    }
    const after = await this.requireStream(id);
    return this.toPublic(after);
  }

  /** DELETE: ends any broadcast in progress and disables the stream for good (its key refused). */
  async disable(id: string, user: AuthUser): Promise<void> {
    const row = await this.requireStream(id);
    this.assertCreator(row, user, true);
    if (row.disabled_at) return;
    const now = new Date().toISOString();
    if (row.status === 'live') {
      if (await this.endLive(id, 'deleted', undefined, { disable: true })) return;
    }
    if (await this.repo.disableIdle(id, now)) {
      this.emit(this.endedListeners, { streamId: id, creatorId: row.creator_id, broadcastId: null, final: true, endedAt: now, durationSeconds: 0, peakViewerCount: 0, reason: 'deleted' });
      return;
    }
    // Raced with a go-live or an end: whatever it is now, it ends for good.
    const after = await this.requireStream(id);
    if (after.status === 'live') await this.endLive(id, 'deleted', undefined, { disable: true });
    else if (after.status === 'idle') await this.repo.disableIdle(id, now);
  }

  /** Ends every live broadcast of a creator (an admin disabled the account); their keys are then refused. */
  async endLiveOf(creatorId: string): Promise<void> {
    for (const row of await this.repo.list({ creatorId, status: 'live', limit: 100 })) await this.endLive(row.id, 'creator_disabled');
  }

  /** A stream's broadcasts, newest first, with the stream (whose live peak the current one shows). */
  async broadcasts(id: string, limit: number): Promise<{ stream: LiveStream; rows: BroadcastRow[] }> {
    const stream = this.toPublic(await this.requireStream(id));
    return { stream, rows: await this.repo.broadcasts(id, limit) };
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * live → ended with exactly one stream.ended, whichever path gets here first. `endedAt`
   * defaults to now; a stream abandoned by its encoder ends when the media stopped.
   */
  async endLive(id: string, reason: string, endedAt?: string, opts: { disable?: boolean } = {}): Promise<boolean> {
    const now = new Date().toISOString();
    // Persist the latest viewer count first so the peak in the event includes it.
    const viewers = await this.presence.count(id).catch((err: unknown) => {
      this.logger.warn({ err, streamId: id }, "shared viewer count unavailable; using this process's");
      return this.viewers.count(id);
    });
    await this.repo.setViewers(id, viewers, Math.max(viewers, this.viewers.peak(id)));
    const ended = await this.repo.transaction(async (trx) => {
      const row = await this.repo.markEnded(id, endedAt ?? now, reason, trx, opts);
      if (!row) return undefined;
      const started = Date.parse(row.started_at ?? row.ended_at ?? now);
      const durationSeconds = Math.max(0, Math.round((Date.parse(row.ended_at ?? now) - started) / 1000));
      await appendEvent(trx, 'stream.ended', row.id, {
        stream_id: row.id,
        ...(row.broadcast_id ? { broadcast_id: row.broadcast_id } : {}),
        duration_seconds: durationSeconds,
        viewer_count: row.peak_viewer_count,
        timestamp: now,
      });
      return { row, durationSeconds };
    });
    if (!ended) return false;
    this.forgetViewers(id);
    this.logger.info({ streamId: id, reason, durationSeconds: ended.durationSeconds }, 'stream ended');
    this.emit(this.endedListeners, {
      streamId: id,
      creatorId: ended.row.creator_id,
      broadcastId: ended.row.broadcast_id,
      final: ended.row.status === 'ended',
      endedAt: ended.row.ended_at ?? now,
      durationSeconds: ended.durationSeconds,
      peakViewerCount: ended.row.peak_viewer_count,
      reason,
    });
    return true;
  }

  /** Looks a key up for a publish; throws PublishRefused for an unknown, revoked or ended key. */
  async authorizeKey(streamKey: string): Promise<StreamRow> {
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(streamKey)) throw new PublishRefused('malformed stream key');
    const row = await this.repo.findByKeyHash(hashStreamKey(streamKey));
    if (!row) throw new PublishRefused('unknown or revoked stream key');
    if (row.status === 'ended') throw new PublishRefused('stream has ended');
    if (this.opts.creatorActive && !(await this.opts.creatorActive(row.creator_id))) throw new PublishRefused('creator account is disabled');
    return row;
  }

  /**
   * A publisher connected with a valid key: takes the publisher slot (refused when someone else
   * holds it) and opens a publish session. The stream goes live only once its media is playable
   * (see publishPlayable), so a publish dropped by the ingest caps never shows as live.
   * A publish within the reconnect window resumes the same stream.
   */
  async beginPublish(streamKey: string, publisherId: string, remoteAddress: string | null): Promise<{ stream: StreamRow; broadcastId: string; sessionId: string; resumed: boolean }> {
    let row = await this.authorizeKey(streamKey);
    const now = new Date();
    const nowIso = now.toISOString();
    const staleBefore = new Date(now.getTime() - PUBLISHER_STALE_SECONDS * 1000).toISOString();
    if (row.status === 'live' && row.publisher_id === null && row.disconnected_at) {
      // Past the window but not swept yet: that broadcast is over. A single-use stream is over with
      // it; a reusable one starts its next broadcast with this publish.
      if (now.getTime() - Date.parse(row.disconnected_at) > this.opts.reconnectWindowSeconds * 1000) {
        await this.endLive(row.id, 'publisher_gone', row.disconnected_at);
        if (!row.reusable) throw new PublishRefused('reconnect window has passed');
        row = await this.authorizeKey(streamKey);
      }
    }
    // A publish to a live stream resumes its broadcast; otherwise it opens the next one, which
    // exists once its media is playable (publishPlayable).
    const broadcastId = row.status === 'live' && row.broadcast_id ? row.broadcast_id : uuidv7();
    const sessionId = uuidv7();
    const claimed = await this.repo.transaction(async (trx) => {
      if (!(await this.repo.claimPublisher(row.id, publisherId, nowIso, staleBefore, trx))) return false;
      await this.repo.insertSession(
        {
          id: sessionId,
          stream_id: row.id,
          started_at: nowIso,
          ended_at: null,
          remote_address: remoteAddress,
          width: null,
          height: null,
          recording_key: null,
          end_reason: null,
          broadcast_id: broadcastId,
          media_started_at: null,
          media_seconds: null,
        },
        trx,
      );
      return true;
    });
    if (!claimed) throw new PublishRefused('stream already has a publisher');
    const stream = await this.requireStream(row.id);
    if (stream.status === 'ended') {
      // Ended between the claim and now (POST …/end raced us): give the slot back.
      await this.repo.releasePublisher(row.id, publisherId, nowIso);
      throw new PublishRefused('stream has ended');
    }
    const resumed = stream.status === 'live';
    this.logger.info({ streamId: row.id, sessionId, resumed }, 'publisher connected');
    return { stream, broadcastId, sessionId, resumed };
  }

  /**
   * The publisher's ladder is playable (every rung has a playlist in storage). The first time,
   * idle → live with started_at and stream.started in one transaction; after a reconnect the
   * stream is already live and only its ladder is updated.
   */
  async publishPlayable(streamId: string, broadcastId: string, ladderJson: string): Promise<void> {
    const nowIso = new Date().toISOString();
    const started = await this.repo.transaction(async (trx) => {
      const row = await this.repo.findById(streamId, trx);
      if (!row) return null;
      if (!(await this.repo.markLive(streamId, nowIso, ladderJson, broadcastId, trx))) return null;
      await appendEvent(trx, 'stream.started', row.id, { stream_id: row.id, broadcast_id: broadcastId, creator_id: row.creator_id, title: row.title, timestamp: nowIso });
      return row;
    });
    if (started) {
      this.logger.info({ streamId, broadcastId }, 'stream live');
      this.emit(this.startedListeners, { streamId, creatorId: started.creator_id, broadcastId, startedAt: nowIso });
    } else {
      await this.repo.setLadder(streamId, ladderJson);
    }
  }

  /** The publisher of `sessionId` left; the reconnect window starts (unless the stream already ended). */
  async finishPublish(
    streamId: string,
    sessionId: string,
    publisherId: string,
    info: { reason: string; recordingKey: string | null; width?: number | null; height?: number | null; media?: { startedAt: string; seconds: number } },
  ): Promise<void> {
    const now = new Date().toISOString();
    await this.repo.finishSession(sessionId, {
      ended_at: now,
      end_reason: info.reason,
      recording_key: info.recordingKey,
      width: info.width ?? null,
      height: info.height ?? null,
      ...(info.media ? { media_started_at: info.media.startedAt, media_seconds: info.media.seconds } : {}),
    });
    await this.repo.releasePublisher(streamId, publisherId, now);
    this.logger.info({ streamId, sessionId, reason: info.reason }, 'publisher disconnected');
    // A zero window ends at once instead of waiting for the next sweep.
    if (this.opts.reconnectWindowSeconds === 0) await this.endLive(streamId, 'publisher_gone', now);
  }

  /** One sweep: reconnect windows that ran out, streams over the duration cap, viewer counts. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const windowStart = new Date(now - this.opts.reconnectWindowSeconds * 1000).toISOString();
      const staleBefore = new Date(now - Math.max(PUBLISHER_STALE_SECONDS, this.opts.reconnectWindowSeconds) * 1000).toISOString();
      for (const row of await this.repo.findAbandoned(windowStart, staleBefore)) {
        await this.endLive(row.id, 'publisher_gone', row.disconnected_at ?? row.publisher_heartbeat_at ?? undefined);
      }
      const tooOld = new Date(now - this.opts.maxDurationSeconds * 1000).toISOString();
      for (const row of await this.repo.findOverDuration(tooOld)) await this.endLive(row.id, 'max_duration');
      await this.sweepViewers(now);
      await this.afterTick?.();
    } catch (err) {
      this.logger.warn({ err }, 'live sweep failed');
    } finally {
      this.ticking = false;
    }
  }

  private async sweepViewers(now: number): Promise<void> {
    let totals: Map<string, number>;
    try {
      totals = await this.presence.sweep(now);
    } catch (err) {
      // Redis away (its commands fail fast): the stored counts stay as they were until it is back.
      this.logger.warn({ err }, 'could not sweep shared viewer counts');
      return;
    }
    for (const [streamId, count] of totals) {
      if (await this.repo.setViewers(streamId, count, Math.max(count, this.viewers.peak(streamId)))) continue;
      // Not live: if it ended (another process may have ended it), its viewers are history here too.
      const row = await this.repo.findById(streamId);
      if (!row || row.status === 'ended') this.forgetViewers(streamId);
    }
  }

  /** In the background: a slow or absent Redis must not hold up whoever ends a stream. */
  private forgetViewers(streamId: string): void {
    this.presence.forget(streamId).catch((err: unknown) => this.logger.warn({ err, streamId }, 'could not drop the shared viewers of an ended stream'));
  }

  /** Starts the sweep loop; `afterTick` runs after each sweep (the capability passes the recording hand-off). */
  start(afterTick?: () => Promise<void>): void {
    if (this.timer) return;
    this.afterTick = afterTick ?? null;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.ticking) await new Promise((r) => setTimeout(r, 20));
    await this.presence.close();
  }
}
