// BullMQ dispatch (when REDIS_URL is set): Redis carries job ids to workers on any node, BullMQ's
// locks and stalled-job checks hand a dead worker's job to another, and its backoff spaces retries.
// The job's record stays in the jobs table; a reconcile loop re-sends jobs Redis never got.
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Logger } from '../logger.js';
import type { JobsRepository } from './jobs.repository.js';
import type { JobExecutor, JobRow, QueueAdapter } from './queue.js';

const QUEUE_NAME = 'jobs';

export interface BullQueueOptions {
  redisUrl: string;
  prefix: string;
  leaseSeconds: number;
  backoffSeconds: number;
  maxAttempts: number;
  reconcileMs?: number;
}

export class BullQueue implements QueueAdapter {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: JobsRepository,
    private readonly opts: BullQueueOptions,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection(), prefix: opts.prefix });
    this.queue.on('error', (err) => this.logger.warn({ err }, 'BullMQ queue error'));
  }

  private connection() {
    // BullMQ needs maxRetriesPerRequest: null on its blocking connections.
    return { url: this.opts.redisUrl, maxRetriesPerRequest: null };
  }

  async dispatch(job: JobRow): Promise<void> {
    // A job id finished or failed in Redis would make add() a no-op: clear it so a retried job runs.
    const existing = await this.queue.getJob(job.id);
    if (existing) {
      const state = await existing.getState();
      if (state === 'completed' || state === 'failed') await existing.remove();
      else return;
    }
    await this.queue.add(
      job.type,
      { job_id: job.id },
      {
        jobId: job.id,
        attempts: job.max_attempts,
        backoff: { type: 'exponential', delay: this.opts.backoffSeconds * 1000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  async startWorker(execute: JobExecutor, opts: { workerId: string; concurrency: number; types: string[] }): Promise<void> {
    if (this.worker) return;
    const leaseMs = this.opts.leaseSeconds * 1000;
    this.worker = new Worker(
      QUEUE_NAME,
      async (bull: Job<{ job_id: string }>, token?: string) => {
        const row = await this.repo.begin(bull.data.job_id, opts.workerId, new Date(Date.now() + leaseMs).toISOString());
        if (!row) return; // deleted with its subject, or already finished
        const outcome = await execute(row);
        // Tell BullMQ whether to schedule another attempt; the jobs table already says the same.
        if (outcome === 'retry') throw new Error('attempt failed; retrying');
        if (outcome === 'failed') throw new UnrecoverableError('failed');
        if (outcome === 'released') {
          // Handed back by a stopping worker: straight back to waiting, so another worker starts it
          // now (completing it here would leave it to the reconcile loop, up to a minute later).
          await bull.moveToWait(token);
          throw new WaitingError();
        }
      },
      {
        connection: this.connection(),
        prefix: this.opts.prefix,
        concurrency: opts.concurrency,
        lockDuration: leaseMs,
        stalledInterval: leaseMs,
        // A job whose worker died is retaken, up to as many times as it may be attempted.
        maxStalledCount: this.opts.maxAttempts,
      },
    );
    this.worker.on('error', (err) => this.logger.warn({ err }, 'BullMQ worker error'));
    const reconcile = async () => {
      try {
        const cutoff = Date.now() - 5000;
        for (const job of await this.repo.waiting(500)) {
          if (Date.parse(job.updated_at) < cutoff) await this.dispatch(job);
        }
      } catch (err) {
        this.logger.warn({ err }, 're-sending waiting jobs failed');
      }
    };
    this.reconcileTimer = setInterval(() => void reconcile(), this.opts.reconcileMs ?? 30_000);
    this.reconcileTimer.unref();
    await reconcile();
  }

  async stopWorker(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = null;
    await this.worker?.close();
    this.worker = null;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
