// The outbox relay: its own loop (never inside a request) that claims pending outbox rows in seq
// order, publishes them to the bus, and marks them delivered. While the bus or the database fails
// it backs off exponentially and the rows simply wait. Any number of relays may run (one per Nova
// process): claims never overlap (see OutboxRepository).
// Waking up: appendEvent signals this process's relay, but from inside the writer's transaction,
// before the commit. So a woken relay lingers a few ms, and while nudges keep coming (or a claim
// comes back empty right after one) it checks again at short, growing intervals for a moment
// before falling back to its poll. Under load the linger also gathers commits into bigger batches.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EventBus } from '../infra/bus/bus.js';
import type { Db } from '../infra/db/database.js';
import type { Logger } from '../infra/logger.js';
import type { RelayMetrics } from './events.metrics.js';
import { OutboxRepository, outboxSignal, type OutboxRow } from './outbox.repository.js';

/** How long after a nudge an empty claim is retried at short intervals, and their longest. */
const CHASE_WINDOW_MS = 2000;
const CHASE_MAX_MS = 250;

class PublishTimeoutError extends Error {
  constructor(ms: number) {
    super(`publish did not finish within ${ms} ms`);
  }
}

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  leaseMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Pause after a wake-up or a partial batch, letting commits land and gather (default 5). */
  lingerMs?: number;
  relayId?: string;
}

export class OutboxRelay {
  readonly relayId: string;
  private readonly repo: OutboxRepository;
  private running = false;
  private loopDone: Promise<void> | null = null;
  private nudged = false;
  private wakeUp: (() => void) | null = null;
  private lastNudgeAt = 0;
  private failingSince: number | null = null;
  private failedRounds = 0;

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly opts: RelayOptions,
    private readonly logger: Logger,
    private readonly metrics?: RelayMetrics,
  ) {
    this.relayId = opts.relayId ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.repo = new OutboxRepository(db);
  }

  /** Asks the loop to look for new rows now (cheap; coalesces). */
  readonly nudge = (): void => {
    this.nudged = true;
    this.lastNudgeAt = Date.now();
    this.wakeUp?.();
  };

  start(): void {
    if (this.running) return;
    this.running = true;
    outboxSignal.on('appended', this.nudge);
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    outboxSignal.off('appended', this.nudge);
    this.wakeUp?.();
    await this.loopDone;
  }

  /** Sleeps up to ms; a nudge (when `wakeOnNudge`) or stop ends it early. */
  private pause(ms: number, wakeOnNudge: boolean): Promise<void> {
    if (!this.running || (wakeOnNudge && this.nudged)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        if (!this.running || wakeOnNudge) {
          this.wakeUp = null;
          done();
        }
      };
    });
  }

  private async loop(): Promise<void> {
    const linger = this.opts.lingerMs ?? 5;
    let backoff = 0;
    let chase = 0;
    while (this.running) {
      this.nudged = false;
      let count = 0;
      try {
        count = await this.relayOnce();
        if (this.failingSince !== null) {
          this.logger.info({ failedRounds: this.failedRounds, downForMs: Date.now() - this.failingSince }, 'event bus reachable again; relay resumed');
          this.failingSince = null;
          this.failedRounds = 0;
        }
        backoff = 0;
      } catch (err) {
        this.metrics?.errors.inc();
        this.failedRounds++;
        if (this.failingSince === null) {
          this.failingSince = Date.now();
          this.logger.warn({ err, bus: this.bus.kind }, 'relay could not publish; events wait in the outbox, retrying with backoff');
        } else {
          this.logger.debug({ err }, 'relay round failed');
        }
        backoff = backoff === 0 ? this.opts.backoffMinMs : Math.min(backoff * 2, this.opts.backoffMaxMs);
        // ±20 % jitter so relays of several nodes do not retry in lockstep.
        await this.pause(Math.round(backoff * (0.8 + Math.random() * 0.4)), false);
        continue;
      }
      if (count === this.opts.batchSize) continue; // more is likely waiting
      if (count > 0) {
        chase = 0;
        await this.pause(linger, false);
      } else if (Date.now() - this.lastNudgeAt < CHASE_WINDOW_MS) {
        // Nudged, but the writer's commit has not landed yet: look again soon.
        chase = Math.min(Math.max(chase * 2, linger, 1), CHASE_MAX_MS);
        await this.pause(chase, false);
      } else {
        chase = 0;
        await this.pause(this.opts.pollIntervalMs, true);
        if (this.nudged) await this.pause(linger, false);
      }
    }
  }

  /** Claims, publishes and marks one batch; returns how many events went out. */
  async relayOnce(): Promise<number> {
    const now = Date.now();
    const rows = await this.repo.claim(this.relayId, this.opts.batchSize, new Date(now).toISOString(), new Date(now + this.opts.leaseMs).toISOString());
    if (rows.length === 0) return 0;
    const seqs = rows.map((r) => r.seq);
    const publishStart = performance.now();
    try {
      await this.publishWithin(rows, this.opts.leaseMs / 2);
      this.metrics?.publishDuration.observe({ bus: this.bus.kind }, (performance.now() - publishStart) / 1000);
    } catch (err) {
      // After a timeout the publish may still be in flight: the rows stay claimed until the lease
      // ends, so no relay (this one included) publishes them again meanwhile.
      if (!(err instanceof PublishTimeoutError)) {
        await this.repo.release(this.relayId, seqs, err instanceof Error ? err.message : String(err)).catch(() => {});
      }
      throw err;
    }
    const done = Date.now();
    await this.repo.markDelivered(this.relayId, seqs, new Date(done).toISOString());
    if (this.metrics) {
      const perTopic = new Map<string, number>();
      for (const r of rows) {
        perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1);
        this.metrics.lag.observe(Math.max(0, (done - Date.parse(r.created_at)) / 1000));
      }
      for (const [topic, n] of perTopic) this.metrics.published.inc({ topic }, n);
    }
    return rows.length;
  }

  /**
   * A publish that has not finished within half the lease counts as failed, so the lease never
   * runs out while this relay may still be publishing (another relay could then take the rows).
   */
  private publishWithin(rows: OutboxRow[], ms: number): Promise<void> {
    const publish = this.bus.publishBatch(
      rows.map((r) => ({ topic: r.topic, key: r.event_key, value: r.payload, headers: { event_type: r.event_type, event_id: r.event_id } })),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(ms)), ms);
    });
    return Promise.race([publish, timeout]).finally(() => clearTimeout(timer));
  }
}
