// Live ingest for API processes: the RTMP listener, one publish session per accepted encoder
// (caps, one ffmpeg, heartbeat), and its end: ffmpeg stopped, recording part stored, temp files
// removed, and the publisher slot released so the reconnect window starts.
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from '../infra/logger.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { liveListSize, selectLiveLadder } from '../media/live.args.js';
import { avcDimensions, flvHeader, flvTag, RtmpServer, type AvPacket, type PublishHandler, type RtmpConnection } from './live.rtmp.js';
import { LiveTranscoder } from './live.transcoder.js';
import { PublishRefused, type LiveService } from './live.service.js';
import type { IngestHealthJson } from './live.schemas.js';

export interface IngestOptions {
  port: number;
  host: string;
  segmentSeconds: number;
  playlistSegments: number;
  preset: string;
  record: boolean;
  maxIngestHeight: number;
  maxIngestKbps: number;
  /** Connection caps and the budget of a connection before and after its publish is accepted. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  authTimeoutSeconds: number;
  preauthMaxBytes: number;
  maxMessageBytes: number;
  /** Resolves the ffmpeg executable; throws when there is none. */
  ffmpeg: () => string;
  /** Where per-session temp dirs go. */
  tmpDir?: string;
}

const FLV_CODEC_H264 = 7;
/** Seconds an accepted publisher has to send decodable video before it is dropped. */
const FIRST_VIDEO_TIMEOUT_SECONDS = 15;
/** The ingest bitrate is judged over this many seconds (and not before half of it has passed). */
const BITRATE_WINDOW_SECONDS = 10;
/**
 * A video frame counts as late when it arrives this much later, against its own timestamp, than the
 * most punctual frame of the session did: the encoder or its network fell behind real time.
 */
const LATE_FRAME_MS = 1000;

export function liveHlsPrefixFor(streamId: string): string {
  return `live/${streamId}/hls/`;
}
/** Segment names of a publish session start with this, so they never repeat across sessions. */
export function segmentPrefixFor(sessionId: string): string {
  return sessionId.replace(/-/g, '').slice(-12);
}
export function recordingKeyFor(streamId: string, sessionId: string): string {
  return `live/${streamId}/recording/${sessionId}.ts`;
}

class PublishSession implements PublishHandler {
  transcoder: LiveTranscoder | null = null;
  private audioHeader: Buffer | null = null;
  private videoHeader: Buffer | null = null;
  private dims: { width: number; height: number } | null = null;
  ladderPublished = false;
  private closing: Promise<void> | null = null;
  private readonly acceptedAt = Date.now();
  /** Media timestamps (ms) of the first and last packet given to the transcoder, and when the last arrived. */
  private media: { firstDts: number; lastDts: number; lastAt: number } | null = null;
  /** bytesIn and video frame samples, one per tick, for the bitrate cap and ingest health. */
  private readonly samples: Array<{ at: number; bytes: number; frames: number }> = [];
  /** Video frames received (not counting codec headers), and those that came late. */
  private videoFrames = 0;
  private lateFrames = 0;
  /** The smallest (arrival time − media timestamp) of any video frame so far, in ms. */
  private punctual: number | null = null;

  constructor(
    private readonly ingest: LiveIngest,
    readonly streamId: string,
    readonly broadcastId: string,
    /** The stream's DVR window (0: the configured sliding window) and whether it is reusable. */
    private readonly stream: { dvrWindowSeconds: number; reusable: boolean },
    readonly sessionId: string,
    readonly publisherId: string,
    private readonly conn: RtmpConnection,
    private readonly resumed: boolean,
  ) {}

  onPacket(p: AvPacket): void {
    if (this.closing) return;
    if (p.codec_type === 18) return; // Script data: ffmpeg probes the streams itself.
    if (p.codec_type === 8 && p.flags === 0) {
      this.audioHeader = flvTag(p);
      this.transcoder?.write(this.audioHeader);
      return;
    }
    if (p.codec_type === 9 && p.flags === 2) {
      if (p.codec_id !== FLV_CODEC_H264) return void this.close('unsupported_codec');
      const dims = avcDimensions(p.data);
      if (!dims) return void this.close('unreadable_video_header');
      this.dims = dims;
      // Refused rather than scaled: decoding a picture larger than any rung only burns CPU.
      if (Math.min(dims.width, dims.height) > this.ingest.opts.maxIngestHeight) return void this.close('resolution_over_cap');
      this.videoHeader = flvTag(p);
      this.transcoder?.write(this.videoHeader);
      return;
    }
    if (!this.transcoder) {
      // Start at the first keyframe after the video header, so ffmpeg's first frame decodes.
      if (!(p.codec_type === 9 && p.flags === 3 && this.videoHeader && this.dims)) return;
      if (!this.startTranscoder()) return;
    }
    if (p.codec_type === 9) this.countVideoFrame(p.dts);
    if (this.media) {
      this.media.lastDts = Math.max(this.media.lastDts, p.dts);
      this.media.lastAt = Date.now();
    } else {
      this.media = { firstDts: p.dts, lastDts: p.dts, lastAt: Date.now() };
    }
    if (!this.transcoder!.write(flvTag(p))) void this.close('transcoder_overloaded');
  }

  private countVideoFrame(dts: number): void {
    this.videoFrames += 1;
    const offset = Date.now() - dts;
    if (this.punctual === null || offset < this.punctual) this.punctual = offset;
    else if (offset - this.punctual > LATE_FRAME_MS) this.lateFrames += 1;
  }

  /** What the ingest sees of the incoming media, over the last few seconds (rates) and the session (counts). */
  health(now: number): IngestHealthJson {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = first && last ? (last.at - first.at) / 1000 : 0;
    const rate = (d: number) => (span >= 1 ? Math.round((d / span) * 10) / 10 : 0);
    return {
      measured_at: new Date(now).toISOString(),
      bitrate_kbps: first && last ? Math.round(rate(((last.bytes - first.bytes) * 8) / 1000)) : 0,
      fps: first && last ? rate(last.frames - first.frames) : 0,
      width: this.dims?.width ?? null,
      height: this.dims?.height ?? null,
      audio: this.audioHeader !== null,
      frames_received: this.videoFrames,
      dropped_frames: this.transcoder?.progress.dropFrames ?? 0,
      late_frames: this.lateFrames,
    };
  }

  private startTranscoder(): boolean {
    const o = this.ingest.opts;
    const ladder = selectLiveLadder(this.dims!.width, this.dims!.height, this.audioHeader !== null, o.segmentSeconds);
    let ffmpeg: string;
    try {
      ffmpeg = o.ffmpeg();
    } catch (err) {
      this.ingest.logger.error({ err }, 'live ingest: ffmpeg is not available');
      void this.close('transcoder_unavailable');
      return false;
    }
    const startNumber = this.ingest.nextSequence.get(this.streamId) ?? 0;
    const dvr = this.stream.dvrWindowSeconds;
    // A recorded DVR (or reusable) stream keeps every segment of the broadcast for clips; an
    // unrecorded DVR stream keeps no more than its window plus the few seconds a player may still
    // be fetching.
    const retain = o.record && (dvr > 0 || this.stream.reusable);
    const t = new LiveTranscoder({
      ffmpeg,
      ladder,
      workDir: path.join(o.tmpDir ?? os.tmpdir(), `nova-live-${this.sessionId}`),
      storagePrefix: liveHlsPrefixFor(this.streamId),
      segmentPrefix: segmentPrefixFor(this.sessionId),
      listSize: liveListSize(o.playlistSegments, o.segmentSeconds, dvr),
      retainSegments: retain,
      retireGraceMs: dvr > 0 ? 2 * o.segmentSeconds * 1000 : undefined,
      startNumber,
      discontinuity: this.resumed,
      preset: o.preset,
      record: o.record,
      storage: this.ingest.storage,
      logger: this.ingest.logger,
      onFailure: (reason) => {
        this.ingest.logger.warn({ streamId: this.streamId, reason }, 'live transcoder failed');
        void this.close('transcoder_failed');
      },
    });
    this.transcoder = t;
    t.startSync();
    void this.ingest.live.repo.setMediaStarted(this.sessionId, new Date().toISOString()).catch((err) => this.ingest.logger.warn({ err }, 'could not record when the media started'));
    t.write(Buffer.concat([flvHeader(this.audioHeader !== null), ...(this.audioHeader ? [this.audioHeader] : []), this.videoHeader!]));
    this.ingest.logger.info({ streamId: this.streamId, sessionId: this.sessionId, input: this.dims, rungs: ladder.rungs.map((r) => r.name) }, 'live transcoder started');
    return true;
  }

  onClose(): void {
    void this.close('publisher_left');
  }

  /** Periodic checks: the ladder becoming playable, no video at all, the bitrate cap. */
  async tick(now: number): Promise<void> {
    if (this.closing) return;
    const t = this.transcoder;
    if (t && !this.ladderPublished && t.playable) {
      await this.ingest.live.publishPlayable(this.streamId, this.broadcastId, JSON.stringify(t.ladder));
      this.ladderPublished = true;
    }
    if (!t && now - this.acceptedAt > FIRST_VIDEO_TIMEOUT_SECONDS * 1000) return void this.close('no_video');
    this.samples.push({ at: now, bytes: this.conn.bytesIn, frames: this.videoFrames });
    while (this.samples.length > 1 && now - this.samples[0].at > BITRATE_WINDOW_SECONDS * 1000) this.samples.shift();
    const first = this.samples[0];
    const span = (now - first.at) / 1000;
    if (span >= BITRATE_WINDOW_SECONDS / 2) {
      const kbps = ((this.conn.bytesIn - first.bytes) * 8) / 1000 / span;
      if (kbps > this.ingest.opts.maxIngestKbps) {
        this.ingest.logger.warn({ streamId: this.streamId, kbps: Math.round(kbps) }, 'live ingest over the bitrate cap');
        void this.close('bitrate_over_cap');
      }
    }
  }

  /** Ends this publish session once, whatever triggered it. */
  close(reason: string): Promise<void> {
    this.closing ??= this.doClose(reason);
    return this.closing;
  }

  private async doClose(reason: string): Promise<void> {
    const { ingest } = this;
    this.conn.close();
    let recordingKey: string | null = null;
    const t = this.transcoder;
    if (t) {
      await t.stop();
      ingest.nextSequence.set(this.streamId, t.nextSequence);
      try {
        if (t.recordingPath && t.recordingSize() > 0) {
          const key = recordingKeyFor(this.streamId, this.sessionId);
          await ingest.storage.putFile(key, t.recordingPath, { contentType: 'video/mp2t' });
          recordingKey = key;
        }
      } catch (err) {
        ingest.logger.warn({ err, streamId: this.streamId }, 'live recording part could not be stored');
      }
      await t.cleanup().catch((err) => ingest.logger.warn({ err, streamId: this.streamId }, 'live temp dir could not be removed'));
    }
    try {
      const m = this.media;
      // The last packet arrived in real time; the first seconds may have come in a burst.
      const media = m ? { seconds: (m.lastDts - m.firstDts) / 1000, startedAt: new Date(m.lastAt - (m.lastDts - m.firstDts)).toISOString() } : undefined;
      await ingest.live.finishPublish(this.streamId, this.sessionId, this.publisherId, { reason, recordingKey, width: this.dims?.width, height: this.dims?.height, media });
    } catch (err) {
      ingest.logger.warn({ err, streamId: this.streamId }, 'live publish bookkeeping failed');
    }
    ingest.sessions.delete(this.sessionId);
  }
}

export class LiveIngest {
  readonly sessions = new Map<string, PublishSession>();
  /** Media sequence to continue from when a stream's publisher comes back to this process. */
  readonly nextSequence = new Map<string, number>();
  private server: RtmpServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopping = false;
  private readonly instanceId = uuidv7();
  private connections = 0;
  private unsubscribe: (() => void) | null = null;
  /** The bound RTMP port, once listening. */
  port: number | null = null;

  constructor(
    readonly live: LiveService,
    readonly storage: ObjectStorage,
    readonly logger: Logger,
    readonly opts: IngestOptions,
  ) {}

  async start(): Promise<number> {
    const o = this.opts;
    this.server = new RtmpServer((req, conn) => this.decide(req, conn), {
      authTimeoutSeconds: o.authTimeoutSeconds,
      maxConnections: o.maxConnections,
      maxConnectionsPerAddress: o.maxConnectionsPerAddress,
      preauthMaxBytes: o.preauthMaxBytes,
      maxMessageBytes: o.maxMessageBytes,
      onError: (err, what) => this.logger.warn({ err, what }, 'rtmp error'),
      onDropped: (reason, remote) => this.logger.info({ remote, reason }, 'rtmp connection dropped'),
    });
    this.port = await this.server.listen(this.opts.port, this.opts.host);
    // A stream ended here (POST …/end, duration cap): drop its publisher now, not at the next tick.
    this.unsubscribe = this.live.onStreamEnded(async (info) => {
      // Only the broadcast that ended: a reusable stream's next publish may already be connecting.
      for (const s of this.sessions.values()) {
        if (s.streamId === info.streamId && (info.broadcastId === null || s.broadcastId === info.broadcastId)) await s.close('stream_ended');
      }
      this.nextSequence.delete(info.streamId);
    });
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
    this.logger.info({ port: this.port }, 'rtmp ingest listening');
    return this.port;
  }

  private async decide(req: { app: string; key: string }, conn: RtmpConnection): Promise<PublishHandler | { refused: string }> {
    if (req.app !== 'live') return { refused: 'Unknown application: publish to /live/<stream key>.' };
    const publisherId = `${this.instanceId}:${++this.connections}`;
    try {
      const { stream, broadcastId, sessionId, resumed } = await this.live.beginPublish(req.key, publisherId, conn.remoteAddress);
      const session = new PublishSession(this, stream.id, broadcastId, { dvrWindowSeconds: stream.dvr_window_seconds, reusable: stream.reusable === 1 }, sessionId, publisherId, conn, resumed);
      this.sessions.set(sessionId, session);
      // Authorized while this process was stopping: end it at once (stop() awaits it).
      if (this.stopping) void session.close('shutdown');
      return session;
    } catch (err) {
      if (!(err instanceof PublishRefused)) throw err;
      // The key itself is never logged.
      this.logger.info({ remote: conn.remoteAddress, reason: err.message }, 'publish refused');
      return { refused: 'Publish refused: unknown or revoked stream key, or the stream is busy or over.' };
    }
  }

  /** Heartbeats for held publishers, and streams ended elsewhere (another process) dropped. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const sessions = [...this.sessions.values()];
      const statuses = await this.live.repo.statuses([...new Set(sessions.map((s) => s.streamId))]);
      for (const s of sessions) {
        const st = statuses.get(s.streamId);
        // Ended, or (reusable) its broadcast ended on another process and the stream went back to idle.
        const over = st === undefined || st.status === 'ended' || (s.ladderPublished && st.broadcastId !== s.broadcastId);
        if (over) {
          await s.close('stream_ended');
          continue;
        }
        await this.live.repo.heartbeat(s.streamId, s.publisherId, new Date(now).toISOString(), JSON.stringify(s.health(now)));
        await s.tick(now);
      }
    } catch (err) {
      this.logger.warn({ err }, 'live ingest tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Number of ffmpeg processes this process runs for live streams. */
  get transcoders(): number {
    return [...this.sessions.values()].filter((s) => s.transcoder?.pid !== undefined).length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    const server = this.server;
    this.server = null;
    this.stopping = true;
    // Sessions first, so they end as a shutdown (the encoder may resume on another node).
    await Promise.all([...this.sessions.values()].map((s) => s.close('shutdown')));
    await server?.close();
    // A publish that was being authorized meanwhile registered its session late: each close stops
    // its ffmpeg and awaits the removal of its temp dir, so none is left once stop() resolves.
    while (this.sessions.size > 0) await Promise.all([...this.sessions.values()].map((s) => s.close('shutdown')));
  }
}
