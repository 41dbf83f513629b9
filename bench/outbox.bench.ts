// npm run bench:outbox — the transactional outbox on SQLite and on Postgres:
//  1. added latency per write transaction: the same transaction (insert one row) without and with
//     appendEvent, interleaved in one run; the one without is the baseline, the ratio is printed;
//  2. relay throughput: a backlog of events drained through the in-process relay to the memory bus;
//  3. end to end: concurrent writers committing events alone (the baseline) and while the relay
//     publishes them, the two phases alternating in ABBA rounds (bench/lib/harness.ts; --swap, --rounds).
//     Every phase starts from the same state: an empty outbox and a checkpointed database (reset),
//     whichever phase ran before it; the relay phase's figures include draining its last events.
//     CPU per event is this process's (writers and relay) and, on Postgres, its backends'.
// Postgres parts need the server at TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
// OUTBOX_LINGER_MS sets the relay's linger as it does Nova's (default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { consumeEvents } from '../src/events/events.consumer.js';
import { OutboxRelay, type RelayOptions } from '../src/events/outbox.relay.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { MemoryBus } from '../src/infra/bus/memory.bus.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';
import { cpuSeconds, fmt, ratioSpread, spread, startBench } from './lib/harness.js';
import { backendCpu, backendCpuSince } from './lib/postgres.js';

const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LATENCY_TX = Number(process.env.BENCH_LATENCY_TX ?? 2000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const E2E_EVENTS = Number(process.env.BENCH_E2E_EVENTS ?? 10_000);
const logger = createLogger('silent');
const RELAY: RelayOptions = { batchSize: 500, pollIntervalMs: 1000, leaseMs: 60_000, backoffMinMs: 100, backoffMaxMs: 5000, lingerMs: Number(process.env.OUTBOX_LINGER_MS ?? 5) };

interface Target {
  name: string;
  db: Db;
  writers: number;
  /** CPU seconds each Postgres backend of the database has used so far, by pid (none on SQLite). */
  serverCpu(): Promise<Map<number, number>>;
  cleanup(): Promise<void>;
}

function stats(ms: number[]): { mean: number; p50: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: s[Math.floor(s.length * 0.5)], p99: s[Math.floor(s.length * 0.99)] };
}

const payload = (key: string) => ({ video_id: key, owner_id: 'bench', stage: 'transcode', progress: 50, timestamp: new Date().toISOString() });

async function writeLatency(t: Target): Promise<void> {
  const without: number[] = [];
  const withEvent: number[] = [];
  const tx = async (event: boolean, i: number) => {
    const start = performance.now();
    await t.db.kysely.transaction().execute(async (trx) => {
      await sql`INSERT INTO bench_items (id, n) VALUES (${`${event ? 'e' : 'b'}-${i}`}, ${i})`.execute(trx);
      if (event) await appendEvent(trx, 'video.progress', `lat-${i % 50}`, payload(`lat-${i % 50}`));
    });
    return performance.now() - start;
  };
  for (let i = 0; i < 200; i++) await tx(i % 2 === 0, -i - 1); // warm-up
  for (let i = 0; i < LATENCY_TX; i++) {
    // Interleaved so both variants see the same machine noise.
    without.push(await tx(false, i));
    withEvent.push(await tx(true, i));
  }
  const a = stats(without);
  const b = stats(withEvent);
  console.log(`  write tx latency (${LATENCY_TX} each, sequential):`);
  console.log(`    baseline, insert only:        mean ${a.mean.toFixed(3)} ms  p50 ${a.p50.toFixed(3)} ms  p99 ${a.p99.toFixed(3)} ms`);
  console.log(`    insert + appendEvent:         mean ${b.mean.toFixed(3)} ms  p50 ${b.p50.toFixed(3)} ms  p99 ${b.p99.toFixed(3)} ms`);
  console.log(`    added per transaction:        ${(b.mean - a.mean).toFixed(3)} ms  (ratio with/without ${(b.mean / a.mean).toFixed(2)}x)`);
  await reset(t);
}

/**
 * Empties the outbox between parts and phases, so none inherits the previous one's dead rows, then
 * checkpoints, so none pays for writing out the previous one's dirty pages or WAL (the phase with
 * the relay writes more of both: a checkpoint it triggered used to land in whichever phase came next).
 */
async function reset(t: Target): Promise<void> {
  if (t.db.dialect === 'postgres') {
    await sql`TRUNCATE outbox, processed_events`.execute(t.db.kysely);
    await sql`CHECKPOINT`.execute(t.db.kysely);
  } else {
    await sql`DELETE FROM outbox`.execute(t.db.kysely);
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(t.db.kysely);
  }
}

/** Fresh planner statistics, as autovacuum would have them on a running system. */
async function analyze(t: Target): Promise<void> {
  if (t.db.dialect === 'postgres') await sql`ANALYZE outbox`.execute(t.db.kysely);
}

async function fillBacklog(db: Db, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    await db.kysely.transaction().execute(async (trx) => {
      for (let j = i; j < Math.min(n, i + 500); j++) await appendEvent(trx, 'video.progress', `bl-${j % 100}`, payload(`bl-${j % 100}`));
    });
  }
}

async function drain(t: Target, idempotent: boolean): Promise<number> {
  await fillBacklog(t.db, BACKLOG);
  await analyze(t);
  const bus = new MemoryBus();
  let got = 0;
  if (idempotent) {
    consumeEvents(bus, t.db, { name: `bench-${Date.now()}`, topics: ['videos.events'], handle: async (_trx, events) => void (got += events.length) }, logger);
  } else {
    bus.subscribe(['videos.events'], 'bench', async (batch) => void (got += batch.length));
  }
  const relay = new OutboxRelay(t.db, bus, RELAY, logger);
  const start = performance.now();
  relay.start();
  while (got < BACKLOG) await new Promise((r) => setTimeout(r, 2));
  await relay.stop();
  const secs = (performance.now() - start) / 1000;
  await reset(t);
  return BACKLOG / secs;
}

/** `writers` concurrent writers committing one event per transaction, `total` events in all. */
async function writeAll(t: Target, tag: string, total: number): Promise<number> {
  const per = Math.ceil(total / t.writers);
  await Promise.all(
    Array.from({ length: t.writers }, async (_, w) => {
      for (let i = 0; i < per; i++) {
        // Each write in its own event-loop turn, as HTTP requests arrive. (better-sqlite3 is
        // synchronous: a bare loop of awaits would never let the relay's timers run.)
        await new Promise((r) => setImmediate(r));
        await t.db.kysely.transaction().execute(async (trx) => {
          await sql`INSERT INTO bench_items (id, n) VALUES (${`${tag}-${w}-${i}`}, ${i})`.execute(trx);
          await appendEvent(trx, 'video.progress', `${tag}-${(w * per + i) % 200}`, payload(`${tag}-${i % 200}`));
        });
      }
    }),
  );
  return per * t.writers;
}

/** The writers alone: the baseline, the database's commit rate with nothing reading the outbox. */
async function writersAlone(t: Target, round: number): Promise<{ rate: number; cpu: number; dbCpu: number }> {
  const db0 = await t.serverCpu();
  const cpu0 = cpuSeconds();
  const start = performance.now();
  const n = await writeAll(t, `solo${round}`, E2E_EVENTS);
  const secs = (performance.now() - start) / 1000;
  const cpu = (cpuSeconds() - cpu0) / n;
  const dbCpu = backendCpuSince(db0, await t.serverCpu()) / n;
  await reset(t);
  return { rate: n / secs, cpu, dbCpu };
}

/** The same writers with the relay publishing to the bus: delivered events/s and commit→consumer lag. */
async function writersWithRelay(t: Target, round: number): Promise<{ rate: number; cpu: number; dbCpu: number; lagP50: number; lagP99: number }> {
  const bus = new MemoryBus();
  let got = 0;
  const lags: number[] = [];
  bus.subscribe(['videos.events'], `bench-e2e-${round}`, async (batch) => {
    const now = Date.now();
    for (const m of batch) lags.push(now - Date.parse((JSON.parse(m.value) as { occurred_at: string }).occurred_at));
    got += batch.length;
  });
  const relay = new OutboxRelay(t.db, bus, RELAY, logger);
  relay.start();
  await new Promise((r) => setTimeout(r, 200));
  const db0 = await t.serverCpu();
  const cpu0 = cpuSeconds();
  const start = performance.now();
  const total = await writeAll(t, `e2e${round}`, E2E_EVENTS);
  while (got < total) await new Promise((r) => setTimeout(r, 2));
  const secs = (performance.now() - start) / 1000;
  const cpu = (cpuSeconds() - cpu0) / total;
  const dbCpu = backendCpuSince(db0, await t.serverCpu()) / total;
  await relay.stop();
  const l = stats(lags);
  await reset(t);
  return { rate: total / secs, cpu, dbCpu, lagP50: l.p50, lagP99: l.p99 };
}

async function run(t: Target): Promise<void> {
  await migrateToLatest(t.db);
  await sql`CREATE TABLE bench_items (id text PRIMARY KEY, n integer NOT NULL)`.execute(t.db.kysely);
  console.log(`\n${t.name}`);
  await writeLatency(t);
  const { a: plain, b: dedupe } = await bench.alternate({ a: () => drain(t, false), b: () => drain(t, true) }, { rounds: 2 });
  const plainS = spread(plain);
  console.log(`  relay drain of ${BACKLOG} events (batch ${RELAY.batchSize}):           ${fmt(plainS, 0, ' events/s')}`);
  console.log(`  same, consumer deduping by event_id (processed_events): ${fmt(spread(dedupe), 0, ' events/s')}`);
  // The two end-to-end phases alternate (ABBA), so neither always runs on a warmer database.
  const { a: withRelay, b: alone } = await bench.alternate({ a: (r) => writersWithRelay(t, r), b: (r) => writersAlone(t, r) });
  const ratio = ratioSpread(
    withRelay.map((x) => x.rate),
    alone.map((x) => x.rate),
  );
  console.log(`  end to end, ${t.writers} writer(s) committing 1 event per tx, ${bench.rounds} alternating rounds, median (min–max):`);
  // CPU per event: this process (writers and relay), and on Postgres its backends serving them.
  const cpuOf = (xs: { cpu: number; dbCpu: number }[], unit: string) =>
    `CPU ${fmt(spread(xs.map((x) => x.cpu * 1e6)), 0, unit)}` + (t.db.dialect === 'postgres' ? ` + Postgres backends ${fmt(spread(xs.map((x) => x.dbCpu * 1e6)), 0, unit)}` : '');
  console.log(`    writers alone:            ${fmt(spread(alone.map((x) => x.rate)), 0, ' tx/s')}, ${cpuOf(alone, ' µs/tx')}`);
  console.log(`    with the relay publishing: ${fmt(spread(withRelay.map((x) => x.rate)), 0, ' events/s delivered')}, ${cpuOf(withRelay, ' µs/event')}`);
  console.log(`    commit→consumer lag p50 ${fmt(spread(withRelay.map((x) => x.lagP50)), 0, ' ms')}, p99 ${fmt(spread(withRelay.map((x) => x.lagP99)), 0, ' ms')}`);
  console.log(`    with relay / alone per round: ${fmt(ratio)}`);
  const tag = t.db.dialect;
  if (tag === 'postgres') bench.target('postgres relay drain events/s', plainS.median, '>=', 5000, 0);
  bench.target(`${tag} writers with relay / alone`, ratio.median, '>=', 0.9);
}

async function sqliteTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-outbox-'));
  const db = openDatabase({ sqlitePath: path.join(dir, 'nova.db') });
  return {
    name: 'SQLite (WAL, synchronous=NORMAL)',
    db,
    writers: 1,
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
  const name = `nova_bench_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const db = openDatabase({ databaseUrl: url.toString(), sqlitePath: ':memory:' });
  return {
    name: 'Postgres (local, pool of 10)',
    db,
    writers: 8,
    serverCpu: () => backendCpu(admin, name),
    cleanup: async () => {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const bench = startBench('outbox', { a: 'writers with relay', b: 'writers alone' });
for (const make of [sqliteTarget, postgresTarget]) {
  const t = await make();
  if (!t) continue;
  try {
    await run(t);
  } finally {
    await t.cleanup();
  }
}
bench.finish();
