// Search benchmark: 10,000 videos with generated titles and descriptions, on SQLite (FTS5) and on
// Postgres (tsvector, prefix tsquery), against a plain LIKE '%q%' scan of the same videos in the
// same run. One- and two-word queries (whole words and prefixes), one client issuing them back to
// back: p50/p99 latency, queries per second and CPU per query of each, and the ratio. Both sides run
// direct on the same database (no HTTP), with the same queries, the same limit of 20 and the same
// page asked for: ranked, title matches first (see likeScan). Rounds alternate in ABBA order
// (bench/lib/harness.ts); medians over rounds with their min–max spread. Targets: p99 <= 20 ms and
// >= 10x the scan's queries per second, per engine and kind of query.
// Usage: npm run bench:search [-- --videos=10000 --seconds=3 --rounds=4 --swap]
// Postgres needs the server at TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { videoDocument } from '../src/search/search.documents.js';
import { SearchRepository } from '../src/search/search.repository.js';
import { queryWords } from '../src/search/search.text.js';
import { rng } from '../src/feed/feed.trainer.js';
import { seedReadyVideo } from '../test/helpers/videos-db.js';
import { cpuSeconds, fmt, numArg, percentile, ratioSpread, spread, startBench, type Bench } from './lib/harness.js';
import { backendCpu, backendCpuSince } from './lib/postgres.js';

const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VIDEOS = numArg('videos', 10000);
const SECONDS = numArg('seconds', 3);
const LIMIT = 20;

// A vocabulary of made-up words (some with diacritics), used with a Zipf-like skew as real text is.
const rand = rng(7);
const SYLLABLES = ['ka', 'lo', 'mi', 'ré', 'su', 'ta', 'vo', 'ne', 'pi', 'dü', 'ar', 'en', 'ço', 'bi', 'gu', 'fa', 'ho', 'ly', 'xe', 'zo'];
const VOCAB = Array.from({ length: 2000 }, () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join(''));
const word = (): string => VOCAB[Math.min(VOCAB.length - 1, Math.floor(VOCAB.length * Math.pow(rand(), 2.2)))];
const sentence = (n: number): string => Array.from({ length: n }, word).join(' ');

async function seed(db: Db): Promise<void> {
  const users = Array.from({ length: 50 }, (_, i) => ({
    id: uuidv7(),
    username: `creator${i}`,
    username_lower: `creator${i}`,
    password_hash: 'x',
    role: 'user',
    created_at: new Date().toISOString(),
  }));
  await db.kysely.insertInto('users').values(users).execute();
  const search = new SearchRepository(db);
  for (let done = 0; done < VIDEOS; done += 500) {
    await db.kysely.transaction().execute(async (trx) => {
      for (let i = done; i < Math.min(VIDEOS, done + 500); i++) {
        const owner = users[i % users.length];
        const at = new Date(Date.now() - i * 60_000).toISOString();
        const v = await seedReadyVideo(trx, {
          owner_id: owner.id,
          title: sentence(4 + Math.floor(rand() * 5)),
          description: sentence(20 + Math.floor(rand() * 20)),
          created_at: at,
        });
        await search.put(trx, videoDocument(v, owner.username));
      }
    });
  }
  if (db.dialect === 'postgres') await sql`ANALYZE`.execute(db.kysely);
  else await sql`ANALYZE`.execute(db.kysely);
}

/**
 * The baseline: what a search without an index does, a case-insensitive substring scan that returns
 * the same page as Nova: the same limit, and ranked, with videos whose title holds every word first,
 * then the newest. An earlier version ordered by id only, so for a common word it stopped at its
 * first 20 hits and never compared titles: a cheaper, different answer than a ranked search gives,
 * which made the baseline unfairly fast. Ranking needs every match looked at, as Nova's index does
 * for its window; the scan has no index to do that with, so it reads every row.
 */
async function likeScan(db: Db, q: string): Promise<number> {
  const like = db.dialect === 'postgres' ? 'ilike' : 'like';
  const patterns = q.split(' ').map((w) => `%${w}%`);
  let query = db.kysely.selectFrom('videos').select(['id', 'title']).where('status', '=', 'ready').where('visibility', '=', 'public');
  for (const p of patterns) query = query.where((eb) => eb.or([eb('title', like, p), eb('description', like, p)]));
  const inTitle = sql.join(
    patterns.map((p) => sql`title ${sql.raw(like)} ${p}`),
    sql` AND `,
  );
  return (
    await query
      .orderBy(sql`CASE WHEN ${inTitle} THEN 0 ELSE 1 END`)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(LIMIT)
      .execute()
  ).length;
}

interface Target {
  name: string;
  /** Short name for the verdict lines. */
  engine: string;
  db: Db;
  /**
   * The database as a server starting on it has it: SQLite gets a new connection (the seeding one
   * has used the FTS5 index already, and FTS5 keeps the statements it prepared); Postgres keeps its pool.
   */
  reopen: () => Promise<Db>;
  /** CPU seconds each database-side process (Postgres backend) has used so far, by pid. */
  serverCpu: () => Promise<Map<number, number>>;
  cleanup: () => Promise<void>;
}

interface Sample {
  p50: number;
  p99: number;
  qps: number;
  /** CPU milliseconds per query: this process, plus the Postgres backends on Postgres. */
  cpuMs: number;
  hits: number;
}

async function measure(t: Target, fn: (q: string) => Promise<number>, queries: string[]): Promise<Sample> {
  const times: number[] = [];
  let hits = 0;
  const server0 = await t.serverCpu();
  const cpu0 = cpuSeconds();
  const started = performance.now();
  for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
    const t0 = performance.now();
    hits += await fn(queries[i % queries.length]);
    times.push(performance.now() - t0);
  }
  const total = (performance.now() - started) / 1000;
  const cpu1 = cpuSeconds();
  const cpu = cpu1 - cpu0 + backendCpuSince(server0, await t.serverCpu());
  return { p50: percentile(times, 50), p99: percentile(times, 99), qps: times.length / total, cpuMs: (cpu * 1000) / times.length, hits: hits / times.length };
}

async function run(bench: Bench, t: Target): Promise<void> {
  await migrateToLatest(t.db);
  const t0 = performance.now();
  await seed(t.db);
  console.log(`\n${t.name}: ${VIDEOS.toLocaleString('en')} videos indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const db = await t.reopen();
  const search = new SearchRepository(db);
  // What the search capability does when a server starts (see SearchRepository.forgetIndexSamples).
  await search.forgetIndexSamples();
  const viewer = { userId: null, admin: false };
  const indexed = (q: string) => search.search({ kind: 'video', words: queryWords(q), viewer, limit: LIMIT, offset: 0 }).then((r) => r.length);
  const scan = (q: string) => likeScan(db, q);
  const prefix = (w: string) => w.slice(0, Math.max(3, w.length - 2));
  // Plain ASCII forms of the words, as people type them (the scan cannot fold diacritics).
  const plain = (w: string) => w.normalize('NFKD').replace(/\p{M}/gu, '');
  const kinds: Array<[string, string[]]> = [
    ['one word', Array.from({ length: 200 }, () => plain(word()))],
    ['one prefix', Array.from({ length: 200 }, () => prefix(plain(word())))],
    ['two words', Array.from({ length: 200 }, () => `${plain(word())} ${plain(word())}`)],
  ];
  // Warm-up: a few queries of each kind on each side (statements prepared, pages cached).
  for (const [, queries] of kinds) for (const q of queries.slice(0, 20)) await Promise.all([indexed(q), scan(q)]);
  const verdicts: Array<() => void> = [];
  for (const [kind, queries] of kinds) {
    const { a, b } = await bench.alternate({ a: () => measure(t, indexed, queries), b: () => measure(t, scan, queries) });
    const ms = (xs: Sample[], k: 'p50' | 'p99' | 'cpuMs') => fmt(spread(xs.map((x) => x[k])), 2, ' ms');
    const qps = (xs: Sample[]) => fmt(spread(xs.map((x) => x.qps)), 0, ' q/s');
    const ratio = ratioSpread(
      a.map((x) => x.qps),
      b.map((x) => x.qps),
    );
    const cpuRatio = ratioSpread(
      b.map((x) => x.cpuMs),
      a.map((x) => x.cpuMs),
    );
    console.log(`  ${kind} (${a[0].hits.toFixed(1)} hits per query from the index, ${b[0].hits.toFixed(1)} from the scan)`);
    console.log(`    index:     p50 ${ms(a, 'p50')}  p99 ${ms(a, 'p99')}  ${qps(a)}  CPU ${ms(a, 'cpuMs')} per query`);
    console.log(`    LIKE scan: p50 ${ms(b, 'p50')}  p99 ${ms(b, 'p99')}  ${qps(b)}  CPU ${ms(b, 'cpuMs')} per query`);
    console.log(`    index / scan: ${fmt(ratio, 1, 'x')} queries per second, ${fmt(cpuRatio, 1, 'x')} less CPU per query`);
    const p99 = spread(a.map((x) => x.p99)).median;
    bench.figure(`${t.engine} ${kind} CPU ms per search`, spread(a.map((x) => x.cpuMs)).median, 'ms');
    bench.figure(`${t.engine} ${kind} CPU ms per scan`, spread(b.map((x) => x.cpuMs)).median, 'ms');
    verdicts.push(() => {
      bench.target(`${t.engine} ${kind} p99 ms`, p99, '<=', 20);
      bench.target(`${t.engine} ${kind} throughput vs scan`, ratio.median, '>=', 10, 1);
    });
  }
  allVerdicts.push(...verdicts);
}

const allVerdicts: Array<() => void> = [];

async function sqliteTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-search-'));
  const file = path.join(dir, 'nova.db');
  let db = openDatabase({ sqlitePath: file });
  return {
    name: 'SQLite (FTS5)',
    engine: 'SQLite',
    db,
    async reopen() {
      await db.close();
      db = openDatabase({ sqlitePath: file });
      return db;
    },
    serverCpu: async () => new Map(),
    cleanup: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresTarget(): Promise<Target | null> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  try {
    await admin.connect();
  } catch {
    console.log('\nPostgres: not reachable, skipped');
    return null;
  }
  const name = `nova_bench_search_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const db = openDatabase({ databaseUrl: url.toString(), sqlitePath: ':memory:' });
  return {
    name: 'Postgres (tsvector + GIN, prefix tsquery)',
    engine: 'Postgres',
    db,
    reopen: async () => db,
    serverCpu: () => backendCpu(admin, name),
    cleanup: async () => {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const bench = startBench('search', { a: 'Nova index', b: 'LIKE scan' });
console.log(`${VIDEOS.toLocaleString('en')} videos, ${SECONDS} s per measurement, ${LIMIT} results per query`);
for (const make of [sqliteTarget, postgresTarget]) {
  const t = await make();
  if (!t) continue;
  try {
    await run(bench, t);
  } finally {
    await t.cleanup();
  }
}
console.log('');
for (const v of allVerdicts) v();
bench.finish();
