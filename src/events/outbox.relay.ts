// The outbox relay: its own loop (never inside a request) that claims pending outbox rows in seq
// order, publishes them to the bus, and marks them delivered. While the bus or the database fails
// it backs off exponentially and the rows simply wait. Any number of relays may run (one per Nova
// process): claims never overlap (see OutboxRepository).
// Waking up: appendEvent signals this process's relay, but from inside the writer's transaction,
// before the commit. So a woken relay lingers a few ms, and while nudges keep coming (or a claim
// comes back empty right after one) it checks again at short, growing intervals for a moment
// before falling back to its poll. Under sustained load the linger grows (to LINGER_CAP_MS), so
// claims gather commits into bigger batches.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EventBus } from '../infra/bus/bus.js';
import type { Db } from '../infra/db/database.js';
import type { Logger } from '../infra/logger.js';
import type { RelayMetrics } from './events.metrics.js';
import { OutboxRepository, outboxSignal, type OutboxRow } from './outbox.repository.js';

/**
 * While every drain finds events (sustained writes), the pause after it doubles from `lingerMs` up
 * to this, so claims gather more rows each: a claim's cost is mostly per claim at small batches.
 * In bench:outbox (one SQLite writer at about 7,000 events/s) the relay's share of the writer's
 * CPU fell from 31 % at a fixed 5 ms to 12 % at 25 ms; the first event after a quiet spell still
 * waits only `lingerMs`.
 */
const LINGER_CAP_MS = 25;
/** How long after a nudge an empty claim is retried at short intervals, and their longest. */
const CHASE_WINDOW_MS = 2000;
const CHASE_MAX_MS = 250;
/**
 * While claims come back full (a backlog), each asks for twice as many rows as the last, up to
 * this many times the configured batch size: a claim's fixed cost (its transaction, planning,
 * round trips) was most of a 500-row claim's time in bench:kafka. A batch's records also stay
 * well below the broker's default 1 MB limit for one partition's records in a request.
 */
const MAX_GROWTH = 4;
const MAX_BATCH_BYTES = 512 * 1024;

class PublishTimeoutError extends Error {
  constructor(ms: number) {
    super(`publish did not finish within ${ms} ms`);
  }
}

interface ClaimedBatch {
  /** The id the rows were claimed under. */
  claimId: string;
  rows: OutboxRow[];
  /** When the claim's lease ends (ms since the epoch). */
  leaseEnd: number;
}

/** The promise's value, or its error as a value: for work started now and awaited later. */
function settle<T>(p: Promise<T>): Promise<T | Error> {
  return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
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
  /**
   * The id this relay claims under: `relayId` until a round fails, then a new one each time, so
   * rows a failed round left claimed (a publish that timed out, a mark that did not land) hold
   * their keys back from the claims that follow, as another relay's rows would.
   */
  private claimId: string;
  private failures = 0;
  /** Marking the last published batch delivered, still running: at most one at a time. */
  private marking: Promise<void | Error> = Promise.resolve();
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
    this.claimId = this.relayId;
    this.repo = new OutboxRepository(db);
  }

  private newClaimId(): void {
    this.claimId = `${this.relayId}#${++this.failures}`;
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
    await this.marking;
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
    let gather = linger;
    let backoff = 0;
    let chase = 0;
    while (this.running) {
      this.nudged = false;
      let count = 0;
      try {
        count = await this.drain();
        if (this.failingSince !== null) {
          this.logger.info({ failedRounds: this.failedRounds, downForMs: Date.now() - this.failingSince }, 'event bus reachable again; relay resumed');
          this.failingSince = null;
          this.failedRounds = 0;
        }
        backoff = 0;
      } catch (err) {
        this.newClaimId();
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
      if (count > 0) {
        chase = 0;
        await this.pause(gather, false);
        if (linger > 0) gather = Math.min(gather * 2, Math.max(linger, LINGER_CAP_MS));
        continue;
      }
      gather = linger;
      if (Date.now() - this.lastNudgeAt < CHASE_WINDOW_MS) {
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
    const batch = await this.claimBatch();
    if (batch.rows.length === 0) return 0;
    try {
      await this.publishBatch(batch);
    } catch (err) {
      await this.failBatch(batch, err);
      this.newClaimId();
      throw err;
    }
    await this.markBatch(batch);
    return batch.rows.length;
  }

  /**
   * Relays batch after batch while claims come back full (a backlog), with the database and the
   * bus working at the same time: while one batch is being published the next is claimed, and the
   * one before is marked delivered (its mark may still run when this returns; the next claim does
   * not wait for it). A batch that is not full ends the drain once it is published: the loop then
   * lingers, so commits gather into the next claim. (Claiming ahead under steady writes instead
   * made every claim take the few rows committed during the last publish: 13 rows a claim at
   * 3,000 events/s in bench:outbox on Postgres, against 70–85 now.) Ordering holds: this relay's
   * own claimed rows do not hold back the next claim (see OutboxRepository.claim) because batches
   * are published one after the other, and after any failure the relay claims under a new id, so
   * whatever the failed round left claimed holds its keys back again. Returns how many events went
   * out.
   */
  private async drain(): Promise<number> {
    let limit = this.opts.batchSize;
    let batch = await this.claimBatch(limit);
    let count = 0;
    while (batch.rows.length > 0) {
      const full = batch.rows.length >= limit;
      limit = full ? this.grown(limit, batch.rows) : this.opts.batchSize;
      const next = this.running && full ? settle(this.claimBatch(limit)) : null;
      const published = await settle(this.publishBatch(batch));
      if (published instanceof Error) {
        // The batch claimed ahead goes back before the failed one, so the claim still running
        // cannot have taken the failed rows again.
        await this.giveBack(next);
        await this.failBatch(batch, published);
        throw published;
      }
      const marked = await this.marking;
      this.marking = Promise.resolve();
      if (marked instanceof Error) {
        await this.giveBack(next);
        throw marked;
      }
      this.marking = settle(
        this.markBatch(batch).catch((err: unknown) => {
          // Claims from now on must treat these published but unmarked rows as another relay's.
          if (this.claimId === batch.claimId) this.newClaimId();
          throw err;
        }),
      );
      count += batch.rows.length;
      if (!next) break;
      const ahead = await next;
      if (ahead instanceof Error) throw ahead;
      batch = ahead;
    }
    return count;
  }

  /** A batch claimed ahead but never sent goes back untouched (no attempt counted, no error). */
  private async giveBack(claim: Promise<ClaimedBatch | Error> | null): Promise<void> {
    const ahead = claim ? await claim : null;
    if (ahead && !(ahead instanceof Error))
      await this.repo
        .unclaim(
          ahead.claimId,
          ahead.rows.map((r) => r.seq),
        )
        .catch(() => {});
  }

  /** The next claim's size after a full batch of `rows`. */
  private grown(limit: number, rows: OutboxRow[]): number {
    let bytes = 0;
    for (const r of rows) bytes += r.payload.length + r.event_key.length + 100; // + headers and framing
    const fit = Math.floor(MAX_BATCH_BYTES / Math.max(1, bytes / rows.length));
    return Math.max(this.opts.batchSize, Math.min(limit * 2, this.opts.batchSize * MAX_GROWTH, fit));
  }

  private async claimBatch(limit = this.opts.batchSize): Promise<ClaimedBatch> {
    const now = Date.now();
    const leaseEnd = now + this.opts.leaseMs;
    const claimId = this.claimId;
    const rows = await this.repo.claim(claimId, limit, new Date(now).toISOString(), new Date(leaseEnd).toISOString());
    return { claimId, rows, leaseEnd };
  }

  /** Publishes a claimed batch (see failBatch when it fails). */
  private async publishBatch(batch: ClaimedBatch): Promise<void> {
    // The publish must end while at least half the lease is left, so no other relay can take the
    // rows while this one may still be publishing them (a batch claimed ahead has less left).
    const within = Math.min(this.opts.leaseMs / 2, batch.leaseEnd - this.opts.leaseMs / 2 - Date.now());
    if (within <= 0) throw new Error('the claim aged before its turn to publish');
    const publishStart = performance.now();
    await this.publishWithin(batch.rows, within);
    this.metrics?.publishDuration.observe({ bus: this.bus.kind }, (performance.now() - publishStart) / 1000);
  }

  /**
   * After a failed publish the rows go back first in line with the error, except after a timeout:
   * the publish may still be in flight, so the rows stay claimed until the lease ends and no relay
   * (this one included) publishes them again meanwhile.
   */
  private async failBatch(batch: ClaimedBatch, err: unknown): Promise<void> {
    if (err instanceof PublishTimeoutError) return;
    await this.repo
      .release(
        batch.claimId,
        batch.rows.map((r) => r.seq),
        err instanceof Error ? err.message : String(err),
      )
      .catch(() => {});
  }

  private async markBatch(batch: ClaimedBatch): Promise<void> {
    const done = Date.now();
    const { rows } = batch;
    await this.repo.markDelivered(
      batch.claimId,
      rows.map((r) => r.seq),
      new Date(done).toISOString(),
    );
    if (this.metrics) {
      const perTopic = new Map<string, number>();
      for (const r of rows) {
        perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1);
        this.metrics.lag.observe(Math.max(0, (done - Date.parse(r.created_at)) / 1000));
      }
      for (const [topic, n] of perTopic) this.metrics.published.inc({ topic }, n);
    }
  }

  /**
   * A publish that has not finished within half the lease counts as failed, so the lease never
   * runs out while this relay may still be publishing (another relay could then take the rows).
   */
  private publishWithin(rows: OutboxRow[], ms: number): Promise<void> {
    const publish = this.bus.publishBatch(rows.map((r) => ({ topic: r.topic, key: r.event_key, value: r.payload, headers: { event_type: r.event_type, event_id: r.event_id } })));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(ms)), ms);
    });
    return Promise.race([publish, timeout]).finally(() => clearTimeout(timer));
  }
}
