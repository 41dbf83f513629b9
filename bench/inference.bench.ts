// `npm run bench:inference`: ONNX serving of the shipped feed ranker.
//   1. Ranking 500 candidates: one requester, a [500, 9] feature tensor through the serving layer
//      (the call the feed makes), p50/p99; and GET /api/v1/feed for a user with 500 candidates
//      over HTTP (database reads + features + model), p50/p99.
//   2. 32 concurrent requesters, each ranking 500 candidates in a loop, against Nova with dynamic
//      batching and against the same Nova with batching off (MODEL_BATCHING=false), in this run,
//      alternating ABBA rounds (bench/lib/harness.ts; --rounds, --swap): throughput of each, the ratio, and the max event-loop delay.
// Options: --seconds N per measurement (default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getFeed } from '../src/client/feed.client.js';
import { FEATURE_COUNT } from '../src/feed/feed.features.js';
import type { ModelsCapability } from '../src/models/models.routes.js';
import type { ModelService } from '../src/models/models.service.js';
import { startTestNova, type TestNova } from '../test/helpers/nova.js';
import { seedReadyVideos } from '../test/helpers/videos-db.js';
import { fmt, spread, startBench } from './lib/harness.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5;
const CANDIDATES = 500;
const REQUESTERS = 32;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function features(seed: number): Float32Array {
  const x = new Float32Array(CANDIDATES * FEATURE_COUNT);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919 + seed * 104729) % 1000) / 250;
  return x;
}

function serviceOf(t: TestNova): ModelService {
  return (t.nova.capabilities.find((c) => c.name === 'models') as ModelsCapability).service;
}

async function rankOnce(svc: ModelService, x: Float32Array): Promise<void> {
  const r = await svc.run('feed-ranker', { features: { type: 'float32', dims: [CANDIDATES, FEATURE_COUNT], data: x } });
  if (r.outputs.score.dims[0] !== CANDIDATES) throw new Error('wrong output size');
}

async function sequential(label: string, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; n: number }> {
  const times: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  for (let i = 0; i < 50; i++) await fn(); // warm-up
  while (performance.now() < end) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const r = { p50: pct(times, 50), p99: pct(times, 99), n: times.length };
  console.log(`${label}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.n} requests)`);
  return r;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Per-request latencies of a round, allocated once for the whole run: a fresh buffer per round
 * made the harness itself trigger the major collections that showed up as event-loop delay.
 */
const LATENCIES = new Float64Array(SECONDS * 200_000);
const INPUTS = Array.from({ length: REQUESTERS }, (_, i) => features(i));

async function concurrent(svc: ModelService): Promise<{ rps: number; maxDelayMs: number; p99: number; cpuUsPerRanking: number }> {
  const inputs = INPUTS;
  for (let i = 0; i < 20; i++) await Promise.all(inputs.map((x) => rankOnce(svc, x)));
  const h = monitorEventLoopDelay({ resolution: 1 });
  const latencies = LATENCIES;
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  h.enable();
  const started = performance.now();
  // CPU used per ranking, by this process and the model process: unlike throughput, it hardly
  // depends on what else the machine is running.
  const cpuBefore = process.cpuUsage();
  const childBefore = svc.pids().reduce((t, p) => t + cpuSeconds(p), 0);
  await Promise.all(
    inputs.map(async (x) => {
      while (performance.now() < end) {
        const s = performance.now();
        await rankOnce(svc, x);
        if (done < latencies.length) latencies[done] = performance.now() - s;
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const childCpu = svc.pids().reduce((t, p) => t + cpuSeconds(p), 0) - childBefore;
  h.disable();
  const sorted = Array.from(latencies.subarray(0, Math.min(done, latencies.length))).sort((a, b) => a - b);
  const cpuUsPerRanking = (((cpu.user + cpu.system) / 1e6 + childCpu) / done) * 1e6;
  return { rps: done / elapsed, maxDelayMs: h.max / 1e6, p99: pct(sorted, 99), cpuUsPerRanking };
}

async function seedFeed(t: TestNova): Promise<string> {
  const { client } = await t.client.newUser('bench_viewer');
  const creators = await Promise.all(Array.from({ length: 20 }, (_, i) => t.client.newUser(`creator${i}`)));
  const db = t.nova.container.db.kysely;
  const now = Date.now();
  const rows = await seedReadyVideos(
    db,
    Array.from({ length: CANDIDATES + 100 }, (_, i) => ({
      owner_id: creators[i % creators.length].user.id,
      title: `video ${i}`,
      duration_seconds: 60 + (i % 10) * 30,
      created_at: new Date(now - (i % 600) * 3_600_000).toISOString(),
    })),
  );
  for (const r of rows.slice(0, 40)) await client.put(`/api/v1/videos/${r.id}/like`);
  await db
    .insertInto('video_stats')
    .values(rows.map((r, i) => ({ video_id: r.id, views: (i * 37) % 500, likes: (i * 11) % 40, watch_seconds: (i * 101) % 3000, updated_at: r.created_at })))
    .onConflict((oc) => oc.column('video_id').doNothing())
    .execute();
  return client.token!;
}

async function startNova(env: Record<string, string>): Promise<{ t: TestNova; svc: ModelService; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-'));
  const t = await startTestNova({ DATA_DIR: dataDir, MODELS_DIR: path.resolve('models'), ...env });
  const svc = serviceOf(t);
  await svc.ready();
  if (!svc.version('feed-ranker')) throw new Error('feed-ranker is not served');
  return { t, svc, dataDir };
}

const bench = startBench('inference', { a: 'batching', b: 'no batching' });
console.log(`inference bench: ${SECONDS} s per measurement, shipped feed-ranker v1 ([batch, ${FEATURE_COUNT}] → [batch, 1])`);
// Both configurations run side by side and are measured in alternation, so a change in the
// machine's load during the run affects both alike.
const batched = await startNova({});
const unbatched = await startNova({ MODEL_BATCHING: 'false' });
try {
  const single = await sequential('rank 500 candidates (serving layer, 1 requester)', () => rankOnce(batched.svc, features(1)));
  const token = await seedFeed(batched.t);
  const viewer = batched.t.client.as(token);
  const first = await getFeed(viewer, 20);
  if (first.body.ranking !== 'model') throw new Error(`feed ranking is ${first.body.ranking}`);
  await sequential('GET /api/v1/feed, 500 candidates (HTTP, 1 requester)', () => getFeed(viewer, 20));
  const { a: ons, b: offs } = await bench.alternate({ a: () => concurrent(batched.svc), b: () => concurrent(unbatched.svc) });
  const rounds = ons.map((on, r) => ({ on, off: offs[r] }));
  for (const [r, { on, off }] of rounds.entries()) {
    console.log(
      `round ${r + 1}: 32 requesters, batching ${on.rps.toFixed(0)} rankings/s (p99 ${on.p99.toFixed(2)} ms, ${on.cpuUsPerRanking.toFixed(0)} µs CPU each, max loop delay ${on.maxDelayMs.toFixed(1)} ms) | no batching ${off.rps.toFixed(0)} rankings/s (p99 ${off.p99.toFixed(2)} ms, ${off.cpuUsPerRanking.toFixed(0)} µs CPU each, max loop delay ${off.maxDelayMs.toFixed(1)} ms) | ratio ${(on.rps / off.rps).toFixed(2)}x`,
    );
  }
  const onInfo = batched.svc.list(true).find((m) => m.name === 'feed-ranker')!;
  const ratio = spread(rounds.map((r) => r.on.rps / r.off.rps));
  console.log(`batching: avg batch ${onInfo.avg_batch_size} requests (${onInfo.avg_batch_rows} rows)`);
  console.log(`throughput ratio (batching / no batching), median (min–max) of ${rounds.length} rounds: ${fmt(ratio)}`);
  const cpuRatio = spread(rounds.map((r) => r.off.cpuUsPerRanking / r.on.cpuUsPerRanking));
  console.log(`CPU per ranking (no batching / batching), median (min–max): ${fmt(cpuRatio)}`);
  console.log(
    `max event-loop delay with 32 requesters: ${Math.max(...rounds.map((r) => r.on.maxDelayMs)).toFixed(1)} ms batching, ${Math.max(...rounds.map((r) => r.off.maxDelayMs)).toFixed(1)} ms without`,
  );
  bench.target('batching/no batching throughput', ratio.median, '>=', 3);
  bench.target('rank 500 candidates p99 ms', single.p99, '<=', 10);
  bench.finish();
} finally {
  for (const n of [batched, unbatched]) {
    await n.t.stop();
    fs.rmSync(n.dataDir, { recursive: true, force: true });
  }
}
