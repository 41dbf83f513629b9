// The outbox relay: its own loop (never inside a request) that claims pending outbox rows in seq
// order, publishes them to the bus, and marks them delivered. It wakes on a commit signal and polls
// besides; while the bus or the database fails it backs off exponentially and the rows simply wait.
// Any number of relays may run (one per Nova process): claims never overlap (see OutboxRepository).
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EventBus } from '../infra/bus/bus.js';
import type { Db } from '../infra/db/database.js';
import type { Logger } from '../infra/logger.js';
import type { RelayMetrics } from './events.metrics.js';
import { OutboxListener } from './outbox.listener.js';
import { OutboxRepository, outboxSignal, type OutboxRow } from './outbox.repository.js';

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
  /** Postgres URL for the commit-time NOTIFY listener; without it the relay wakes on local appends. */
  databaseUrl?: string;
  relayId?: string;
}

export class OutboxRelay {
  readonly relayId: string;
  private readonly repo: OutboxRepository;
  private running = false;
  private loopDone: Promise<void> | null = null;
  private nudged = false;
  private wakeUp: (() => void) | null = null;
  private listener: OutboxListener | null = null;
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
    this.wakeUp?.();
  };

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.opts.databaseUrl && this.db.dialect === 'postgres') {
      this.listener = new OutboxListener(this.opts.databaseUrl, this.nudge, this.logger);
      this.listener.start();
    } else {
      outboxSignal.on('appended', this.nudge);
    }
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    outboxSignal.off('appended', this.nudge);
    this.wakeUp?.();
    await this.listener?.stop();
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
    let backoff = 0;
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
      // A full batch means more is likely waiting; otherwise wait for a commit or the next poll.
      if (count === 0) await this.pause(this.opts.pollIntervalMs, true);
    }
  }

  /** Claims, publishes and marks one batch; returns how many events went out. */
  async relayOnce(): Promise<number> {
    const now = Date.now();
    const rows = await this.repo.claim(this.relayId, this.opts.batchSize, new Date(now).toISOString(), new Date(now + this.opts.leaseMs).toISOString());
    if (rows.length === 0) return 0;
    const seqs = rows.map((r) => r.seq);
    try {
      await this.publishWithin(rows, this.opts.leaseMs / 2);
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
