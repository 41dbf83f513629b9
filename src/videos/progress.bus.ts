// Processing progress of videos: the contract's stages, the snapshot every progress view shows, and
// the fan-out to SSE/WebSocket listeners: in-process, or over Redis pub/sub when REDIS_URL is set so
// a listener on one node sees the stages a worker on another node reports.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { VideoStatus } from './videos.repository.js';

/** Stages in order, with the progress at which each starts (shared API.md). */
export const STAGES = [
  ['verify_upload', 10],
  ['extract_metadata', 20],
  ['select_tiers', 30],
  ['transcode', 30],
  ['generate_manifest', 80],
  ['upload_outputs', 80],
  ['update_database', 95],
  ['publish', 100],
  ['cleanup', 100],
] as const;

export type Stage = (typeof STAGES)[number][0];
export const STAGE_START: Record<Stage, number> = Object.fromEntries(STAGES) as Record<Stage, number>;
export const STAGE_INDEX: Record<string, number> = Object.fromEntries(STAGES.map(([s], i) => [s, i]));

export interface ProgressSnapshot {
  video_id: string;
  status: VideoStatus;
  stage: string | null;
  progress: number;
  attempts: number;
  error: string | null;
  queue_position: number | null;
}

const STATUS_RANK: Record<VideoStatus, number> = { waiting_upload: 0, queued: 1, processing: 2, ready: 3, failed: 3 };

/**
 * Orders snapshots of one video so listeners never step back: by attempt (a queued video waits for
 * its next attempt), then status, progress and stage. Retries restart progress in a higher attempt.
 */
function orderKey(s: ProgressSnapshot): number[] {
  const attempt = s.status === 'queued' || s.status === 'waiting_upload' ? s.attempts + 1 : s.attempts;
  return [attempt, STATUS_RANK[s.status], s.progress, s.stage ? (STAGE_INDEX[s.stage] ?? -1) : -1];
}

/** 1 if a is later than b, -1 if earlier, 0 if the same point. */
export function compareProgress(a: ProgressSnapshot, b: ProgressSnapshot): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i] ? 1 : -1;
  return 0;
}

export function isTerminal(s: Pick<ProgressSnapshot, 'status'>): boolean {
  return s.status === 'ready' || s.status === 'failed';
}

export type ProgressListener = (s: ProgressSnapshot) => void;

export interface ProgressBus {
  /** Starts receiving progress published by other processes (a no-op in memory). */
  listen(): Promise<void>;
  publish(s: ProgressSnapshot): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(videoId: string, listener: ProgressListener): () => void;
  close(): Promise<void>;
}

export class MemoryProgressBus implements ProgressBus {
  protected readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open SSE/WS connection: the default warning threshold of 10 is not a leak signal here.
    this.emitter.setMaxListeners(0);
  }

  async listen(): Promise<void> {}

  async publish(s: ProgressSnapshot): Promise<void> {
    this.emitter.emit(s.video_id, s);
  }

  subscribe(videoId: string, listener: ProgressListener): () => void {
    this.emitter.on(videoId, listener);
    return () => this.emitter.off(videoId, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** Publishes on one Redis channel; each process subscribes once and fans out to its own listeners. */
export class RedisProgressBus extends MemoryProgressBus {
  private subscriber: Redis | null = null;
  private subscribing: Promise<void> | null = null;
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    super();
    this.channel = `${prefix}:video-progress`;
  }

  override async publish(s: ProgressSnapshot): Promise<void> {
    try {
      await this.redis.publish(this.channel, JSON.stringify(s));
    } catch (err) {
      // Listeners in this process still hear it; others catch up from the database.
      this.logger.warn({ err }, 'progress publish failed');
      await super.publish(s);
    }
  }

  /** Subscribes this process to the channel; called at start so no early stage is missed. */
  override async listen(): Promise<void> {
    if (!this.subscribing) {
      const sub = this.redis.duplicate();
      sub.on('error', () => {});
      sub.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return;
        try {
          const s = JSON.parse(message) as ProgressSnapshot;
          this.emitter.emit(s.video_id, s);
        } catch {
          // A foreign message on our channel: ignore it.
        }
      });
      this.subscriber = sub;
      this.subscribing = sub.subscribe(this.channel).then(
        () => undefined,
        (err) => this.logger.warn({ err }, 'progress subscribe failed'),
      );
    }
    await this.subscribing;
  }

  override subscribe(videoId: string, listener: ProgressListener): () => void {
    void this.listen();
    return super.subscribe(videoId, listener);
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
    this.subscriber = null;
    this.subscribing = null;
  }
}
