// The job queue behind the VOD pipeline, on real databases and Redis: retries with exponential
// backoff, permanent failures without retries, exactly-once runs with two workers, a dead worker's
// lease taken over (embedded), hand-back on shutdown, queue positions. Each adapter runs the same cases.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';
import { BullQueue } from '../src/infra/queue/bullmq.queue.js';
import { EmbeddedQueue } from '../src/infra/queue/embedded.queue.js';
import { JobQueue } from '../src/infra/queue/job.queue.js';
import { JobsRepository } from '../src/infra/queue/jobs.repository.js';
import { JobError, type JobHandler, type JobRow, type QueueAdapter } from '../src/infra/queue/queue.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';

const logger = createLogger('silent');
const LEASE = 2;

interface Setup {
  db: Db;
  cleanup(): Promise<void>;
}

type Kind = 'embedded' | 'bullmq';

/** A handler whose behaviour each test sets through the job payload. */
function scriptedHandler(log: Map<string, number[]>): JobHandler {
  return {
    async run(job: JobRow, ctx) {
      const runs = log.get(job.id) ?? [];
      runs.push(Date.now());
      log.set(job.id, runs);
      const p = JSON.parse(job.payload) as { failTimes?: number; permanent?: boolean; holdMs?: number };
      if (p.permanent) throw new JobError('This input can never work.', true);
      if (p.failTimes && job.attempts <= p.failTimes) throw new Error('temporary outage (driver detail that must not leak)');
      if (p.holdMs) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, p.holdMs);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await ctx.report('step', 50);
    },
  };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function suite(name: string, kind: Kind, setup: () => Promise<Setup | string>) {
  describe(`job queue (${name})`, () => {
    let s: Setup;
    let skip: string | false = false;
    const prefix = `nova-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const queues: JobQueue[] = [];
    const runs = new Map<string, number[]>();

    const makeQueue = (opts: { worker?: boolean; attempts?: number } = {}): JobQueue => {
      const repo = new JobsRepository(s.db);
      const adapter: QueueAdapter =
        kind === 'bullmq'
          ? new BullQueue(repo, { redisUrl: REDIS_TEST_URL, prefix, leaseSeconds: LEASE, backoffSeconds: 1, maxAttempts: opts.attempts ?? 3, reconcileMs: 1000 }, logger)
          : new EmbeddedQueue(repo, { leaseSeconds: LEASE, pollMs: 100 }, logger);
      const q = new JobQueue(s.db, repo, adapter, { maxAttempts: opts.attempts ?? 3, leaseSeconds: LEASE, backoffSeconds: 1, concurrency: 2 }, logger);
      q.register('test.scripted', scriptedHandler(runs));
      queues.push(q);
      return q;
    };

    const add = async (q: JobQueue, payload: object): Promise<JobRow> => {
      const job = await s.db.kysely.transaction().execute((trx) => q.add(trx, { type: 'test.scripted', subjectId: null, payload }));
      await q.dispatch(job);
      return job;
    };

    const settled = (q: JobQueue, id: string, states = ['done', 'failed']) =>
      waitFor(async () => {
        const j = await q.repo.findById(id);
        return j && states.includes(j.state) ? j : undefined;
      });

    before(async () => {
      const r = await setup();
      if (typeof r === 'string') skip = r;
      else s = r;
    });
    after(async () => {
      for (const q of queues) await q.stop().catch(() => {});
      if (s) await s.cleanup();
      if (kind === 'bullmq' && s) {
        const redis = new Redis(REDIS_TEST_URL);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
      }
    });

    it('queue positions count the jobs ahead', async (t) => {
      if (skip) return t.skip(skip);
      const q = makeQueue();
      const a = await add(q, {});
      const b = await add(q, {});
      const c = await add(q, {});
      assert.deepEqual([await q.repo.position(a), await q.repo.position(b), await q.repo.position(c)], [0, 1, 2]);
      const counts = await q.repo.countsByState();
      assert.equal(counts.queued, 3);
      // Leave them to the next case's worker.
    });

    it('retries transient errors with growing backoff, then succeeds; runs each job once at a time', async (t) => {
      if (skip) return t.skip(skip);
      const q = makeQueue();
      await q.startWorker();
      const flaky = await add(q, { failTimes: 2 });
      const done = await settled(q, flaky.id);
      assert.equal(done.state, 'done');
      assert.equal(done.attempts, 3);
      const at = runs.get(flaky.id)!;
      assert.equal(at.length, 3);
      // Backoff is 1 s, then 2 s: lower bounds only (a busy machine may be slower, never faster).
      assert.ok(at[1] - at[0] >= 900, `first retry after ${at[1] - at[0]} ms`);
      assert.ok(at[2] - at[1] >= 1900, `second retry after ${at[2] - at[1]} ms`);
      // The jobs queued by the previous case ran too.
      await waitFor(async () => ((await q.repo.countsByState()).queued === 0 ? true : undefined));
    });

    it('gives up after the last attempt with a message that leaks nothing', async (t) => {
      if (skip) return t.skip(skip);
      const q = queues[1];
      const doomed = await add(q, { failTimes: 99 });
      const j = await settled(q, doomed.id);
      assert.equal(j.state, 'failed');
      assert.equal(j.attempts, 3);
      assert.doesNotMatch(j.error ?? '', /driver/);
    });

    it('fails permanent errors at once, and an admin retry starts fresh', async (t) => {
      if (skip) return t.skip(skip);
      const q = queues[1];
      const bad = await add(q, { permanent: true });
      const j = await settled(q, bad.id);
      assert.equal(j.state, 'failed');
      assert.equal(j.attempts, 1);
      assert.equal(j.error, 'This input can never work.');
      const again = await q.retry(j.id);
      assert.equal(again?.state, 'queued');
      assert.equal(again?.attempts, 0);
      const refailed = await waitFor(async () => {
        const r = await q.repo.findById(j.id);
        return r?.state === 'failed' && r.attempts === 1 && r.finished_at !== j.finished_at ? r : undefined;
      });
      assert.equal(refailed.error, 'This input can never work.');
      assert.equal(runs.get(j.id)?.length, 2);
      // Only failed jobs can be retried.
      const ok = await add(q, {});
      await settled(q, ok.id);
      assert.equal(await q.retry(ok.id), undefined);
    });

    it('runs every job exactly once with two workers', async (t) => {
      if (skip) return t.skip(skip);
      const other = makeQueue();
      await other.startWorker();
      const jobs = await Promise.all(Array.from({ length: 8 }, () => add(queues[1], { holdMs: 50 })));
      for (const j of jobs) assert.equal((await settled(queues[1], j.id)).state, 'done');
      for (const j of jobs) assert.equal(runs.get(j.id)?.length, 1, `job ${j.id} ran ${runs.get(j.id)?.length} times`);
    });

    it('hands running jobs back on shutdown without counting the attempt', async (t) => {
      if (skip) return t.skip(skip);
      const q = makeQueue();
      const long = await add(q, { holdMs: 60_000 });
      // Only this queue's worker is running now.
      for (const other of queues.filter((x) => x !== q)) await other.stop();
      await q.startWorker();
      await waitFor(async () => ((await q.repo.findById(long.id))?.state === 'running' ? true : undefined));
      await q.stop();
      const j = await q.repo.findById(long.id);
      assert.equal(j?.state, 'queued');
      assert.equal(j?.attempts, 0);
      assert.equal(j?.locked_by, null);
    });

    if (kind === 'embedded') {
      it('takes over a job whose worker stopped heartbeating once its lease expires', async (t) => {
        if (skip) return t.skip(skip);
        const q = makeQueue();
        // Only this case's job waits (the previous case handed back a long one).
        await s.db.kysely.deleteFrom('jobs').where('state', 'in', ['queued', 'retrying']).execute();
        const job = await add(q, {});
        // A worker that claims the job and then dies (no heartbeat, no outcome).
        const dead = await q.repo.claimNext('dead-worker', ['test.scripted'], new Date(Date.now() + LEASE * 1000).toISOString());
        assert.equal(dead?.id, job.id);
        assert.equal(dead.attempts, 1);
        await q.startWorker();
        const j = await settled(q, dead.id);
        assert.equal(j.state, 'done');
        assert.equal(j.attempts, dead.attempts + 1);
      });
    }
  });
}

suite('SQLite, embedded', 'embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-queue-'));
  const db = openDatabase({ sqlitePath: path.join(dir, 'nova.db') });
  await migrateToLatest(db);
  return {
    db,
    cleanup: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

let pgDb: TestDatabase | null = null;
suite('Postgres, embedded (SKIP LOCKED)', 'embedded', async () => {
  const why = await postgresSkipReason();
  if (why) return why;
  pgDb = await createTestDatabase();
  const db = openDatabase({ databaseUrl: pgDb.url, sqlitePath: ':memory:' });
  await migrateToLatest(db);
  const mine = pgDb;
  return {
    db,
    cleanup: async () => {
      await db.close();
      await mine.drop();
    },
  };
});

suite('Postgres, BullMQ on Redis', 'bullmq', async () => {
  const why = (await postgresSkipReason()) || (await requireServer('Redis', '127.0.0.1', Number(new URL(REDIS_TEST_URL).port || 6379)));
  if (why) return why;
  const tdb = await createTestDatabase();
  const db = openDatabase({ databaseUrl: tdb.url, sqlitePath: ':memory:' });
  await migrateToLatest(db);
  return {
    db,
    cleanup: async () => {
      await db.close();
      await tdb.drop();
    },
  };
});
