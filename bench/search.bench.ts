// Search benchmark: 10,000 videos with generated titles and descriptions, on SQLite (FTS5) and on
// Postgres (tsvector, prefix tsquery), against a plain LIKE '%q%' scan of the same videos in the
// same run. One- and two-word queries (whole words and prefixes), one client issuing them back to
// back: p50/p99 latency and queries per second of each, and the ratio. Both sides run direct on
// the same database (no HTTP), with the same queries, the same limit of 20 and the same page
// asked for: ranked, title matches first (see likeScan).
// Usage: npm run bench:search [-- --videos=10000 --seconds=3]
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

const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const VIDEOS = Number(arg('videos', '10000'));
const SECONDS = Number(arg('seconds', '3'));
const LIMIT = 20;

// A vocabulary of made-up words (some with diacritics), used with a Zipf-like skew as real text is.
const rand = rng(7);
const SYLLABLES = ['ka', 'lo', 'mi', 'ré', 'su', 'ta', 'vo', 'ne', 'pi', 'dü', 'ar', 'en', 'ço', 'bi', 'gu', 'fa', 'ho', 'ly', 'xe', 'zo'];
const VOCAB = Array.from({ length: 2000 }, () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join(''));
const word = (): string => VOCAB[Math.min(VOCAB.length - 1, Math.floor(VOCAB.length * Math.pow(rand(), 2.2)))];
const sentence = (n: number): string => Array.from({ length: n }, word).join(' ');

interface Target {
  name: string;
  db: Db;
  cleanup: () => Promise<void>;
}

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

async function measure(fn: (q: string) => Promise<number>, queries: string[]): Promise<{ p50: number; p99: number; qps: number; hits: number }> {
  const times: number[] = [];
  let hits = 0;
  const started = performance.now();
  for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
    const t0 = performance.now();
    hits += await fn(queries[i % queries.length]);
    times.push(performance.now() - t0);
  }
  const total = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: pct(0.5), p99: pct(0.99), qps: times.length / total, hits: hits / times.length };
}

async function run(t: Target): Promise<void> {
  await migrateToLatest(t.db);
  const t0 = performance.now();
  await seed(t.db);
  console.log(`\n${t.name}: ${VIDEOS.toLocaleString('en')} videos indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const search = new SearchRepository(t.db);
  const viewer = { userId: null, admin: false };
  const indexed = (q: string) => search.search({ kind: 'video', words: queryWords(q), viewer, limit: LIMIT, offset: 0 }).then((r) => r.length);
  const prefix = (w: string) => w.slice(0, Math.max(3, w.length - 2));
  // Plain ASCII forms of the words, as people type them (the scan cannot fold diacritics).
  const plain = (w: string) => w.normalize('NFKD').replace(/\p{M}/gu, '');
  const kinds: Array<[string, string[]]> = [
    ['one word', Array.from({ length: 200 }, () => plain(word()))],
    ['one prefix', Array.from({ length: 200 }, () => prefix(plain(word())))],
    ['two words', Array.from({ length: 200 }, () => `${plain(word())} ${plain(word())}`)],
  ];
  const met: string[] = [];
  for (const [kind, queries] of kinds) {
    const scan = await measure((q) => likeScan(t.db, q), queries);
    const fts = await measure(indexed, queries);
    if (fts.p99 > 20) met.push(`${kind}: p99 ${fts.p99.toFixed(1)} ms > 20 ms`);
    if (fts.qps < 10 * scan.qps) met.push(`${kind}: ${(fts.qps / scan.qps).toFixed(1)}x < 10x`);
    const f = (x: number) => x.toFixed(2).padStart(6);
    console.log(
      `  ${kind.padEnd(10)} index: p50 ${f(fts.p50)} ms  p99 ${f(fts.p99)} ms  ${Math.round(fts.qps).toLocaleString('en').padStart(6)} q/s (${fts.hits.toFixed(1)} hits)` +
        ` | LIKE scan: p50 ${f(scan.p50)} ms  p99 ${f(scan.p99)} ms  ${Math.round(scan.qps).toLocaleString('en').padStart(5)} q/s (${scan.hits.toFixed(1)} hits)` +
        ` | ${(fts.qps / scan.qps).toFixed(1)}x`,
    );
  }
  console.log(`  target (p99 <= 20 ms, >= 10x the scan): ${met.length === 0 ? 'met' : `not met (${met.join('; ')})`}`);
}

async function sqliteTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-search-'));
  const db = openDatabase({ sqlitePath: path.join(dir, 'nova.db') });
  return {
    name: 'SQLite (FTS5)',
    db,
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
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const db = openDatabase({ databaseUrl: url.toString(), sqlitePath: ':memory:' });
  return {
    name: 'Postgres (tsvector + GIN, prefix tsquery)',
    db,
    cleanup: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

console.log(
  `search benchmark on ${os.cpus().length} cores (load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}), node ${process.version}, ${SECONDS} s per measurement`,
);
for (const make of [sqliteTarget, postgresTarget]) {
  const t = await make();
  if (!t) continue;
  try {
    await run(t);
  } finally {
    await t.cleanup();
  }
}
