// npm run bench:qoe — a video's playback-quality summary read from the hourly aggregates that
// ingest maintains (side A), against the baseline a non-incremental design pays on every request
// (side B): replaying every raw event of the video's sessions through the same session state
// machine. Both read the same SQLite database filled through QoeService.ingest, synced to disk
// before the rounds; both warm up first. Rounds alternate in ABBA order (bench/lib/harness.ts);
// each prints wall and CPU milliseconds per summary, and the replay/aggregate ratio is taken per round.
// Usage: npm run bench:qoe [-- --sessions 1000 --summaries 500 --replays 5 --rounds 4 --swap]
// (QOE_BENCH_SESSIONS still sets the default number of sessions, ~60 events each.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { v7 as uuidv7 } from 'uuid';
import { openDatabase } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { QoeRepository } from '../src/qoe/qoe.repository.js';
import { QoeService } from '../src/qoe/qoe.service.js';
import { applyEvents, initialState, type PlaybackEvent } from '../src/qoe/qoe.timeline.js';
import { MemoryRateLimiter } from '../src/shared/rate-limiter.js';
import { cpuSeconds, fmt, numArg, ratioSpread, settle, spread, startBench } from './lib/harness.js';

const SESSIONS = numArg('sessions', Number(process.env.QOE_BENCH_SESSIONS ?? 1000));
const SUMMARIES = numArg('summaries', 500);
const REPLAYS = numArg('replays', 5);
if (SESSIONS < 1 || SUMMARIES < 1 || REPLAYS < 1) throw new Error('--sessions, --summaries and --replays must be at least 1');
const bench = startBench('qoe', { a: 'aggregates', b: 'replay' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-qoe-'));
const db = openDatabase({ sqlitePath: path.join(dir, 'nova.db') });
await migrateToLatest(db);
const video = uuidv7();
const service = new QoeService(
  new QoeRepository(db),
  new MemoryRateLimiter(),
  { videoOwner: async () => 'owner', streamOwner: async () => null },
  {
    retentionDays: 30,
    sessionsPerMinute: 1e9,
    batchesPerMinute: 1e9,
    maxEventsPerSession: 1e6,
    pruneIntervalSeconds: 3600,
  },
);

const t0 = performance.now();
const c0 = cpuSeconds();
for (let s = 0; s < SESSIONS; s++) {
  const id = uuidv7();
  const events: PlaybackEvent[] = [
    { type: 'level_switch', at_ms: 0, height: 720, bitrate: 2_500_000 },
    { type: 'startup', at_ms: 400 + (s % 700), ms: 400 + (s % 700) },
  ];
  for (let k = 1; k <= 55; k++)
    events.push(
      k % 9 === 0
        ? { type: 'rebuffer_start', at_ms: 1000 + k * 1000 }
        : k % 9 === 1 && k > 1
          ? { type: 'rebuffer_end', at_ms: 1000 + k * 1000 }
          : { type: 'heartbeat', at_ms: 1000 + k * 1000, position: k },
    );
  events.push({ type: 'end', at_ms: 60_000 });
  await service.ingest({ session_id: id, video_id: video, events }, { user: null, address: '127.0.0.1' });
}
const ingestMs = performance.now() - t0;
const ingestCpuMs = (cpuSeconds() - c0) * 1000;
// The database was just written: neither side should pay for flushing it.
await settle({ sync: true, ms: 1000 });

async function replay(): Promise<number> {
  const rows = await db.kysely
    .selectFrom('qoe_events as e')
    .innerJoin('qoe_sessions as s', 's.session_id', 'e.session_id')
    .select(['e.session_id', 'e.type', 'e.at_ms', 'e.data'])
    .where('s.video_id', '=', video)
    .orderBy('e.session_id')
    .orderBy('e.at_ms')
    .execute();
  let play = 0;
  let current = '';
  let batch: PlaybackEvent[] = [];
  const flush = () => {
    if (batch.length) play += applyEvents({ ...initialState(), lastAtMs: batch[0]!.at_ms }, batch).delta.playMs;
    batch = [];
  };
  for (const r of rows) {
    if (r.session_id !== current) {
      flush();
      current = r.session_id;
    }
    batch.push({ type: r.type, at_ms: Number(r.at_ms), ...JSON.parse(r.data) } as PlaybackEvent);
  }
  flush();
  return play;
}

const summary = () => service.summary(`v:${video}`, '24h', 'hours');

/** Wall and CPU milliseconds per call of fn, over n calls (SQLite runs in this process, so its CPU counts). */
async function time(fn: () => Promise<unknown>, n: number): Promise<{ wall: number; cpu: number }> {
  const cpu0 = cpuSeconds();
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return { wall: (performance.now() - start) / n, cpu: ((cpuSeconds() - cpu0) * 1000) / n };
}

// Warm-up: statements prepared, pages cached and JIT warm for both sides before the first round
// (with only a few summaries, the first round's aggregate reads still ran two to three times slower).
await time(summary, SUMMARIES);
await time(replay, 2);

const ms = (x: number) => `${x.toFixed(2)} ms`;
const { a: agg, b: raw } = await bench.alternate({
  a: async (r) => {
    const t = await time(summary, SUMMARIES);
    console.log(`  round ${r + 1} aggregates: ${ms(t.wall)} wall, ${ms(t.cpu)} CPU per summary (${SUMMARIES} summaries), load ${os.loadavg()[0].toFixed(2)}`);
    return t;
  },
  b: async (r) => {
    const t = await time(replay, REPLAYS);
    console.log(`  round ${r + 1} replay    : ${ms(t.wall)} wall, ${ms(t.cpu)} CPU per summary (${REPLAYS} replays), load ${os.loadavg()[0].toFixed(2)}`);
    return t;
  },
});

const aggWall = spread(agg.map((t) => t.wall));
const rawWall = spread(raw.map((t) => t.wall));
const ratio = ratioSpread(
  raw.map((t) => t.wall),
  agg.map((t) => t.wall),
);
const cpuRatio = ratioSpread(
  raw.map((t) => t.cpu),
  agg.map((t) => t.cpu),
);
const viewing = (await summary()).viewing_seconds;
const replayed = (await replay()) / 1000;
console.log(`\nsessions ${SESSIONS}, raw events ${SESSIONS * 58}; ingest ${(ingestMs / SESSIONS).toFixed(2)} ms wall, ${(ingestCpuMs / SESSIONS).toFixed(2)} ms CPU per batch`);
console.log(`summary from hourly aggregates: ${fmt(aggWall, 2, ' ms')} wall, ${fmt(spread(agg.map((t) => t.cpu)), 2, ' ms')} CPU`);
console.log(`replaying raw events:           ${fmt(rawWall, 1, ' ms')} wall, ${fmt(spread(raw.map((t) => t.cpu)), 1, ' ms')} CPU`);
console.log(`ratio replay/aggregates per round: wall ${fmt(ratio, 1, 'x')}, CPU ${fmt(cpuRatio, 1, 'x')}`);
console.log(`(same viewing time both ways: ${viewing.toFixed(0)} s vs ${replayed.toFixed(0)} s)`);
bench.figure('summary from aggregates ms', aggWall.median, 'ms');
bench.figure('replay of raw events ms', rawWall.median, 'ms');
bench.figure('replay/aggregates CPU ratio', cpuRatio.median, 'x');
// The aggregate read must stay an order of magnitude cheaper than recomputing from raw events.
bench.target('replay/aggregates wall ratio', ratio.median, '>=', 10, 1);
bench.target('viewing time difference s', Math.abs(viewing - replayed), '<', 1, 1);
bench.finish();
await db.close();
fs.rmSync(dir, { recursive: true, force: true });
