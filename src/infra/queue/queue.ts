// The job-queue port. A job's record (state, attempts, stage, progress) always lives in the `jobs`
// table; an adapter only decides how workers get jobs: the embedded one claims rows with a lease,
// the BullMQ one receives job ids from Redis.
import type { Transaction } from 'kysely';
import type { Tables } from '../db/schema.js';
import type { Logger } from '../logger.js';

export type JobState = 'queued' | 'running' | 'retrying' | 'failed' | 'done';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'retrying', 'failed', 'done'];

/**
 * A job as the queue hands it around. `subject_id` names what the job works on (its handler knows
 * what kind of thing that is: a video for transcodes); null for a job about nothing in particular.
 */
export interface JobRow {
  id: string;
  type: string;
  subject_id: string | null;
  payload: string;
  state: string;
  attempts: number;
  max_attempts: number;
  run_at: string;
  locked_by: string | null;
  lease_until: string | null;
  stage: string | null;
  progress: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * A failure with a message fit for users. `permanent` ones (invalid media, missing source) are not
 * retried: another attempt would fail the same way.
 */
export class JobError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'JobError';
  }
}

/** The job was taken away from this worker (lease lost, subject deleted) or the worker is stopping. */
export class JobCancelledError extends Error {
  constructor(readonly why: 'lost' | 'stopping') {
    super(why === 'lost' ? 'The job is no longer owned by this worker.' : 'The worker is stopping.');
    this.name = 'JobCancelledError';
  }
}

export interface JobContext {
  workerId: string;
  /** Aborted when the lease is lost or the worker stops; the reason is a JobCancelledError. */
  signal: AbortSignal;
  logger: Logger;
  /** Records the job's stage and progress (0-100) on its row, for the admin view. */
  report(stage: string, progress: number): Promise<void>;
}

export interface JobHandler {
  run(job: JobRow, ctx: JobContext): Promise<void>;
  /** Runs in the transaction that records a failure (`final`) or a retry, to update the job's subject. */
  onFailure?(trx: Transaction<Tables>, job: JobRow, failure: { message: string; final: boolean }): Promise<void>;
  /** Runs in the transaction that puts the job back in the queue (admin retry, worker shutdown). */
  onRequeued?(trx: Transaction<Tables>, job: JobRow): Promise<void>;
  /** Runs after an attempt's outcome is committed (e.g. to announce the subject's new state). */
  settled?(job: JobRow, outcome: JobOutcome): Promise<void>;
}

export type JobOutcome = 'done' | 'retry' | 'failed' | 'lost' | 'released';

/** Runs one claimed job to an outcome; provided by JobQueue to the adapters. */
export type JobExecutor = (job: JobRow) => Promise<JobOutcome>;

export interface QueueAdapter {
  readonly kind: 'embedded' | 'bullmq';
  /** Makes a committed job row known to workers. */
  dispatch(job: JobRow): Promise<void>;
  startWorker(execute: JobExecutor, opts: { workerId: string; concurrency: number; types: string[] }): Promise<void>;
  /** Stops taking jobs; resolves when running ones have returned. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Exponential backoff: base, 2×base, 4×base, … capped at one hour. */
export function backoffSeconds(baseSeconds: number, attempt: number): number {
  return Math.min(3600, baseSeconds * 2 ** Math.max(0, attempt - 1));
}
