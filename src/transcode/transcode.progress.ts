// Progress of one pipeline attempt: stages in the contract's order, a value that never goes back,
// fanned out at once to listeners (SSE/WS) and written to the database at most once a second
// (stage changes at once, each with a `video.progress` outbox event for webhooks).
import type { JobContext } from '../infra/queue/queue.js';
import { STAGE_START, type ProgressSnapshot, type Stage } from '../videos/progress.bus.js';
import type { VideosService } from '../videos/videos.service.js';

const PERSIST_EVERY_MS = 1000;
/** Within a long stage, a `video.progress` event each time progress crosses a multiple of this. */
const EVENT_STEP = 10;

export class ProgressReporter {
  private stage: Stage | null = null;
  private progress = 0;
  private lastPersist = 0;
  private lastEventProgress = 0;
  private writes: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly videos: VideosService,
    private readonly ctx: JobContext,
    private readonly video: { id: string; owner_id: string },
    private readonly attempts: number,
  ) {}

  get current(): { stage: Stage | null; progress: number } {
    return { stage: this.stage, progress: this.progress };
  }

  /** Enters a stage: progress jumps to the stage's start (never back), recorded and announced now. */
  async enter(stage: Stage): Promise<void> {
    this.stage = stage;
    this.progress = Math.max(this.progress, STAGE_START[stage]);
    this.lastEventProgress = this.progress;
    // Awaited so listeners on other nodes have the stage before the database moves past it.
    await this.videos.bus.publish(this.snapshot()).catch(() => {});
    await this.persist(true);
  }

  /** Moves within the current stage's span [from, to] by a fraction 0..1. */
  advance(from: number, to: number, fraction: number): void {
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const p = Math.floor(from + (to - from) * f);
    if (p <= this.progress) return;
    this.progress = p;
    this.announce();
    const crossed = Math.floor(p / EVENT_STEP) > Math.floor(this.lastEventProgress / EVENT_STEP);
    if (crossed) {
      this.lastEventProgress = p;
      void this.persist(true).catch(() => {});
      return;
    }
    const wait = this.lastPersist + PERSIST_EVERY_MS - Date.now();
    if (wait <= 0) void this.persist(false).catch(() => {});
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.persist(false).catch(() => {});
      }, wait);
    }
  }

  snapshot(status: ProgressSnapshot['status'] = 'processing'): ProgressSnapshot {
    return { video_id: this.video.id, status, stage: this.stage, progress: this.progress, attempts: this.attempts, error: null, queue_position: null };
  }

  /** The video is published and temp files are gone: the last stage, as the database already says. */
  finish(): void {
    this.stage = 'cleanup';
    this.progress = 100;
    this.announce('ready');
  }

  /** Announces a snapshot to listeners without recording it (the caller recorded it). */
  announce(status: ProgressSnapshot['status'] = 'processing'): void {
    void this.videos.bus.publish(this.snapshot(status)).catch(() => {});
  }

  /** Writes are chained so a slow one can never land after a newer one. */
  private persist(withEvent: boolean): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastPersist = Date.now();
    const stage = this.stage;
    const progress = this.progress;
    if (!stage) return this.writes;
    this.writes = this.writes
      .catch(() => {})
      .then(async () => {
        if (this.ctx.signal.aborted) return;
        await this.videos.recordProgress(this.video.id, stage, progress, withEvent, this.video.owner_id);
        await this.ctx.report(stage, progress);
      });
    return this.writes;
  }

  /** Waits for pending writes and stops the timer. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writes.catch(() => {});
  }
}
