// The embedded queue: workers poll the jobs table and claim rows with a lease. Jobs added in this
// process wake its poller at once; other processes (a separate `nova worker`) see them on their next poll.
import type { Logger } from '../logger.js';
import type { JobsRepository } from './jobs.repository.js';
import type { JobExecutor, JobRow, QueueAdapter } from './queue.js';

export class EmbeddedQueue implements QueueAdapter {
  readonly kind = 'embedded' as const;
  private stopped = true;
  private active = new Set<Promise<unknown>>();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly repo: JobsRepository,
    private readonly opts: { leaseSeconds: number; pollMs?: number },
    private readonly logger: Logger,
  ) {}

  async dispatch(_job: JobRow): Promise<void> {
    this.wake?.();
  }

  async startWorker(execute: JobExecutor, opts: { workerId: string; concurrency: number; types: string[] }): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run(execute, opts);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async run(execute: JobExecutor, opts: { workerId: string; concurrency: number; types: string[] }): Promise<void> {
    const pollMs = this.opts.pollMs ?? 1000;
    while (!this.stopped) {
      if (this.active.size >= opts.concurrency) {
        await Promise.race([...this.active]);
        continue;
      }
      let job: JobRow | null = null;
      try {
        const leaseUntil = new Date(Date.now() + this.opts.leaseSeconds * 1000).toISOString();
        job = await this.repo.claimNext(opts.workerId, opts.types, leaseUntil);
      } catch (err) {
        this.logger.warn({ err }, 'claiming a job failed; retrying');
      }
      if (this.stopped) {
        // Claimed just as we stopped: the lease expiring hands it to another worker.
        break;
      }
      if (!job) {
        await this.sleep(pollMs);
        continue;
      }
      const p: Promise<unknown> = execute(job)
        .catch((err) => this.logger.error({ err, job_id: job?.id }, 'job execution crashed'))
        .finally(() => this.active.delete(p));
      this.active.add(p);
    }
  }

  async stopWorker(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  async close(): Promise<void> {
    // Nothing to close: the database belongs to the container.
  }
}
