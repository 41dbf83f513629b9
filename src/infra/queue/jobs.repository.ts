// The jobs table: claiming with a lease (Postgres: FOR UPDATE SKIP LOCKED; SQLite: a conditional
// UPDATE, safe because SQLite serialises writers), heartbeats, outcomes and the admin view's counts.
// Every write by a worker names the worker, so one that lost its lease cannot overwrite the new owner.
// A job's subject is stored in the `video_id` column, the name it had when videos were the only
// subject; rows are mapped to JobRow (`subject_id`) here, so nothing above this file sees the column.
import { sql, type ExpressionBuilder } from 'kysely';
import type { Db, Executor } from '../db/database.js';
import type { Tables } from '../db/schema.js';
import type { JobRow, JobState } from './queue.js';

/** The jobs table as stored: JobRow with the subject in its `video_id` column. */
export type JobTable = Omit<JobRow, 'subject_id'> & { video_id: string | null };

declare module '../db/schema.js' {
  interface Tables {
    jobs: JobTable;
  }
}

export type NewJob = Pick<JobRow, 'id' | 'type' | 'subject_id' | 'payload' | 'max_attempts'>;

function toJob({ video_id, ...rest }: JobTable): JobRow {
  return { ...rest, subject_id: video_id };
}

const toJobOrUndefined = (row: JobTable | undefined): JobRow | undefined => (row ? toJob(row) : undefined);

function claimable(now: string) {
  return (eb: ExpressionBuilder<Tables, 'jobs'>) =>
    eb.or([eb.and([eb('state', 'in', ['queued', 'retrying']), eb('run_at', '<=', now)]), eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)])]);
}

export class JobsRepository {
  constructor(private readonly db: Db) {}

  async insert(trx: Executor, job: NewJob): Promise<JobRow> {
    const now = new Date().toISOString();
    const { subject_id, ...fields } = job;
    const row: JobTable = {
      ...fields,
      video_id: subject_id,
      state: 'queued',
      attempts: 0,
      run_at: now,
      locked_by: null,
      lease_until: null,
      stage: null,
      progress: 0,
      error: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
    await trx.insertInto('jobs').values(row).execute();
    return toJob(row);
  }

  async findById(id: string): Promise<JobRow | undefined> {
    return toJobOrUndefined(await this.db.kysely.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst());
  }

  /** The newest job about a subject (a video has one pipeline job; retries reuse it). */
  async latestForSubject(subjectId: string, trx: Executor = this.db.kysely): Promise<JobRow | undefined> {
    return toJobOrUndefined(await trx.selectFrom('jobs').selectAll().where('video_id', '=', subjectId).orderBy('id', 'desc').limit(1).executeTakeFirst());
  }

  /** Ids of every job about a subject, whatever its state. */
  async idsForSubject(subjectId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('jobs').select('id').where('video_id', '=', subjectId).execute();
    return rows.map((r) => r.id);
  }

  /** Deletes every job about a subject, in the caller's transaction (the subject's deletion). */
  async deleteForSubject(trx: Executor, subjectId: string): Promise<void> {
    await trx.deleteFrom('jobs').where('video_id', '=', subjectId).execute();
  }

  /** Takes the next runnable job (or one whose lease expired) for workerId, counting an attempt. */
  async claimNext(workerId: string, types: string[], leaseUntil: string): Promise<JobRow | null> {
    const now = new Date().toISOString();
    const k = this.db.kysely;
    if (this.db.dialect === 'postgres') {
      const res = await sql<JobTable>`
        update jobs set state = 'running', attempts = attempts + 1, locked_by = ${workerId}, lease_until = ${leaseUntil},
          started_at = ${now}, updated_at = ${now}, stage = null, progress = 0
        where id = (
          select id from jobs
          where type in (${sql.join(types)})
            and ((state in ('queued', 'retrying') and run_at <= ${now}) or (state = 'running' and lease_until < ${now}))
          order by run_at, id
          limit 1
          for update skip locked)
        returning *`.execute(k);
      return res.rows[0] ? toJob(res.rows[0]) : null;
    }
    // SQLite: pick a candidate, then take it only if it is still claimable. A concurrent claimer
    // makes the UPDATE match nothing, and we try the next candidate.
    for (let i = 0; i < 5; i++) {
      const cand = await k.selectFrom('jobs').select('id').where('type', 'in', types).where(claimable(now)).orderBy('run_at').orderBy('id').limit(1).executeTakeFirst();
      if (!cand) return null;
      const row = await k
        .updateTable('jobs')
        .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), locked_by: workerId, lease_until: leaseUntil, started_at: now, updated_at: now, stage: null, progress: 0 }))
        .where('id', '=', cand.id)
        .where(claimable(now))
        .returningAll()
        .executeTakeFirst();
      if (row) return toJob(row);
    }
    return null;
  }

  /** Marks a job delivered by another dispatcher (BullMQ) as running on workerId. */
  async begin(id: string, workerId: string, leaseUntil: string): Promise<JobRow | null> {
    const now = new Date().toISOString();
    const row = await this.db.kysely
      .updateTable('jobs')
      .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), locked_by: workerId, lease_until: leaseUntil, started_at: now, updated_at: now, stage: null, progress: 0 }))
      .where('id', '=', id)
      .where('state', 'in', ['queued', 'retrying', 'running'])
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** Extends the lease; false when the job is no longer this worker's (taken over or deleted). */
  async heartbeat(id: string, workerId: string, leaseUntil: string): Promise<boolean> {
    const res = await this.db.kysely.updateTable('jobs').set({ lease_until: leaseUntil }).where('id', '=', id).where('locked_by', '=', workerId).where('state', '=', 'running').executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async report(id: string, workerId: string, stage: string, progress: number): Promise<void> {
    await this.db.kysely
      .updateTable('jobs')
      .set({ stage, progress, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('locked_by', '=', workerId)
      .where('state', '=', 'running')
      .execute();
  }

  async markDone(trx: Executor, id: string, workerId: string): Promise<boolean> {
    const now = new Date().toISOString();
    const res = await trx
      .updateTable('jobs')
      .set({ state: 'done', locked_by: null, lease_until: null, error: null, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('locked_by', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Records a failure: `runAt` set means it will be retried then; null means it failed for good. */
  async markFailed(trx: Executor, id: string, workerId: string, error: string, runAt: string | null): Promise<boolean> {
    const now = new Date().toISOString();
    const res = await trx
      .updateTable('jobs')
      .set({ state: runAt ? 'retrying' : 'failed', run_at: runAt ?? now, locked_by: null, lease_until: null, error, updated_at: now, finished_at: runAt ? null : now })
      .where('id', '=', id)
      .where('locked_by', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Puts a running job back in the queue without counting the interrupted attempt. */
  async release(trx: Executor, id: string, workerId: string): Promise<boolean> {
    const now = new Date().toISOString();
    const res = await trx
      .updateTable('jobs')
      .set((eb) => ({ state: 'queued', attempts: eb('attempts', '-', 1), run_at: now, locked_by: null, lease_until: null, stage: null, progress: 0, updated_at: now }))
      .where('id', '=', id)
      .where('locked_by', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** A failed job starts over with a fresh set of attempts. */
  async requeue(trx: Executor, id: string): Promise<JobRow | undefined> {
    const now = new Date().toISOString();
    const row = await trx
      .updateTable('jobs')
      .set({ state: 'queued', attempts: 0, run_at: now, locked_by: null, lease_until: null, stage: null, progress: 0, error: null, updated_at: now, started_at: null, finished_at: null })
      .where('id', '=', id)
      .where('state', '=', 'failed')
      .returningAll()
      .executeTakeFirst();
    return toJobOrUndefined(row);
  }

  async countsByState(): Promise<Record<JobState, number>> {
    const rows = await this.db.kysely
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    const out: Record<JobState, number> = { queued: 0, running: 0, retrying: 0, failed: 0, done: 0 };
    for (const r of rows) if (r.state in out) out[r.state as JobState] = Number(r.n);
    return out;
  }

  async listByState(state: JobState, limit: number): Promise<JobRow[]> {
    const q = this.db.kysely.selectFrom('jobs').selectAll().where('state', '=', state);
    const rows = await (state === 'failed' || state === 'done' ? q.orderBy('updated_at', 'desc') : q.orderBy('run_at').orderBy('id')).limit(limit).execute();
    return rows.map(toJob);
  }

  /** Jobs waiting to run ahead of this one, in claim order (run_at, id). */
  async position(job: Pick<JobRow, 'id' | 'run_at'>): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', 'in', ['queued', 'retrying'])
      .where((eb) => eb.or([eb('run_at', '<', job.run_at), eb.and([eb('run_at', '=', job.run_at), eb('id', '<', job.id)])]))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Queued or retrying jobs, for re-dispatching ones a broker may have missed. */
  async waiting(limit: number): Promise<JobRow[]> {
    const rows = await this.db.kysely.selectFrom('jobs').selectAll().where('state', 'in', ['queued', 'retrying']).orderBy('run_at').limit(limit).execute();
    return rows.map(toJob);
  }
}
