// The job queue as services see it: add a job inside a transaction, dispatch it after commit, and
// run workers. The retry policy lives here, the same for both adapters: transient errors retry with
// exponential backoff up to max attempts; JobError(permanent) fails at once with its message.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Executor } from '../db/database.js';
import type { Logger } from '../logger.js';
import { JobsRepository } from './jobs.repository.js';
import { backoffSeconds, JobCancelledError, JobError, type JobContext, type JobHandler, type JobOutcome, type JobRow, type JobState, type QueueAdapter } from './queue.js';

export interface JobQueueOptions {
  maxAttempts: number;
  leaseSeconds: number;
  backoffSeconds: number;
  concurrency: number;
}

export interface QueueStats {
  counts: Record<JobState, number>;
  running: JobRow[];
  failed: JobRow[];
}

export class JobQueue {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<string, AbortController>();
  private workerStarted = false;
  private stopping = false;

  constructor(
    private readonly db: Db,
    readonly repo: JobsRepository,
    readonly adapter: QueueAdapter,
    private readonly opts: JobQueueOptions,
    private readonly logger: Logger,
  ) {}

  register(type: string, handler: JobHandler): void {
    this.handlers.set(type, handler);
  }

  /**
   * Records a job in the caller's transaction. Call dispatch(job) once that transaction committed.
   * `subjectId` is what the job works on, for its handler and for finding or deleting it with its subject.
   */
  async add(trx: Executor, job: { type: string; subjectId: string | null; payload?: unknown }): Promise<JobRow> {
    if (!this.handlers.has(job.type)) throw new Error(`no handler registered for job type "${job.type}"`);
    return this.repo.insert(trx, { id: uuidv7(), type: job.type, subject_id: job.subjectId, payload: JSON.stringify(job.payload ?? {}), max_attempts: this.opts.maxAttempts });
  }

  /** Tells workers about a committed job. A broker outage is logged, not thrown: the reconcile loop re-sends it. */
  async dispatch(job: JobRow): Promise<void> {
    try {
      await this.adapter.dispatch(job);
    } catch (err) {
      this.logger.warn({ err, job_id: job.id }, 'job dispatch failed; it will be re-sent');
    }
  }

  /** Admin retry of a failed job: fresh attempts, subject reset by its handler, dispatched again. */
  async retry(id: string): Promise<JobRow | undefined> {
    const job = await this.db.kysely.transaction().execute(async (trx) => {
      const row = await this.repo.requeue(trx, id);
      if (row) await this.handlers.get(row.type)?.onRequeued?.(trx, row);
      return row;
    });
    if (job) await this.dispatch(job);
    return job;
  }

  /** Stops a job running in this process whose subject is gone (others notice at their next heartbeat). */
  cancel(jobId: string): void {
    this.running.get(jobId)?.abort(new JobCancelledError('lost'));
  }

  async stats(limit = 50): Promise<QueueStats> {
    const [counts, running, failed] = await Promise.all([this.repo.countsByState(), this.repo.listByState('running', limit), this.repo.listByState('failed', limit)]);
    return { counts, running, failed };
  }

  async startWorker(): Promise<void> {
    if (this.workerStarted) return;
    this.workerStarted = true;
    await this.adapter.startWorker((job) => this.execute(job), { workerId: this.workerId, concurrency: this.opts.concurrency, types: [...this.handlers.keys()] });
    this.logger.info({ worker: this.workerId, queue: this.adapter.kind, concurrency: this.opts.concurrency }, 'job worker started');
  }

  /** Stops taking jobs and hands running ones back to the queue, so another worker resumes them at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const ac of this.running.values()) ac.abort(new JobCancelledError('stopping'));
    if (this.workerStarted) await this.adapter.stopWorker();
    await this.adapter.close();
  }

  private leaseUntil(): string {
    return new Date(Date.now() + this.opts.leaseSeconds * 1000).toISOString();
  }

  /** Runs one claimed job: heartbeats, the handler, then records the outcome. */
  async execute(job: JobRow): Promise<JobOutcome> {
    const outcome = await this.attempt(job);
    await this.handlers
      .get(job.type)
      ?.settled?.(job, outcome)
      .catch((err) => this.logger.warn({ err, job_id: job.id }, 'job settle hook failed'));
    return outcome;
  }

  private async attempt(job: JobRow): Promise<JobOutcome> {
    const handler = this.handlers.get(job.type);
    const log = this.logger.child({ job_id: job.id, subject_id: job.subject_id, attempt: job.attempts });
    if (!handler) {
      await this.fail(job, undefined, new JobError(`No handler for job type "${job.type}".`, true), log);
      return 'failed';
    }
    if (job.attempts > job.max_attempts) {
      // Its earlier workers died mid-job (SIGKILL, crash) as many times as it may be attempted.
      const err = new JobError(`Processing did not complete in ${job.max_attempts} attempts (the last worker stopped responding).`, true);
      await this.fail(job, handler, err, log);
      return 'failed';
    }
    const ac = new AbortController();
    this.running.set(job.id, ac);
    // Delivered while stopping (e.g. BullMQ handing over a job as the worker closes): give it back.
    if (this.stopping) ac.abort(new JobCancelledError('stopping'));
    const beat = setInterval(
      () => {
        this.repo.heartbeat(job.id, this.workerId, this.leaseUntil()).then(
          (ok) => {
            if (!ok && !ac.signal.aborted) ac.abort(new JobCancelledError('lost'));
          },
          (err) => log.warn({ err }, 'job heartbeat failed'),
        );
      },
      Math.max(500, (this.opts.leaseSeconds * 1000) / 3),
    );
    const ctx: JobContext = {
      workerId: this.workerId,
      signal: ac.signal,
      logger: log,
      report: (stage, progress) => this.repo.report(job.id, this.workerId, stage, progress),
    };
    try {
      if (!ac.signal.aborted) await handler.run(job, ctx);
      if (ac.signal.aborted) return await this.cancelled(job, handler, ac, log);
      const ok = await this.repo.markDone(this.db.kysely, job.id, this.workerId);
      return ok ? 'done' : 'lost';
    } catch (err) {
      if (ac.signal.aborted) return await this.cancelled(job, handler, ac, log);
      return await this.fail(job, handler, err, log);
    } finally {
      clearInterval(beat);
      this.running.delete(job.id);
    }
  }

  private async cancelled(job: JobRow, handler: JobHandler, ac: AbortController, log: Logger): Promise<JobOutcome> {
    const reason: unknown = ac.signal.reason;
    if (reason instanceof JobCancelledError && reason.why === 'stopping') {
      const released = await this.db.kysely
        .transaction()
        .execute(async (trx) => {
          const ok = await this.repo.release(trx, job.id, this.workerId);
          if (ok) await handler.onRequeued?.(trx, job);
          return ok;
        })
        .catch((err) => {
          log.warn({ err }, 'could not hand the job back; it will be retaken when its lease expires');
          return false;
        });
      if (released) await this.dispatch({ ...job, state: 'queued' });
      return 'released';
    }
    log.info('job lost its lease or was cancelled; leaving it to its new owner');
    return 'lost';
  }

  private async fail(job: JobRow, handler: JobHandler | undefined, err: unknown, log: Logger): Promise<JobOutcome> {
    const permanent = err instanceof JobError && err.permanent;
    const final = permanent || job.attempts >= job.max_attempts;
    const message = err instanceof JobError ? err.message : 'An internal error interrupted processing.';
    if (permanent) log.info({ reason: message }, 'job failed permanently');
    else log.warn({ err }, final ? 'job failed after its last attempt' : 'job failed; will retry');
    const runAt = final ? null : new Date(Date.now() + backoffSeconds(this.opts.backoffSeconds, job.attempts) * 1000).toISOString();
    const recorded = await this.db.kysely.transaction().execute(async (trx) => {
      const ok = await this.repo.markFailed(trx, job.id, this.workerId, message, runAt);
      if (ok) await handler?.onFailure?.(trx, job, { message, final });
      return ok;
    });
    if (!recorded) return 'lost';
    return final ? 'failed' : 'retry';
  }
}
