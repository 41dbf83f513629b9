// Scale-out benchmark on real processes (`nova serve --no-worker`, `nova worker`) sharing a
// throw-away Postgres database, Redis (unique prefix) and an s3rver: (1) throughput of N small
// transcodes with 1 worker vs 2 workers, (2) chat deliveries with all sockets on 1 API node vs split
// over 2 API nodes (Redis fan-out). Configurations alternate in one run so other load on the machine
// hits both alike; ratios are printed. CPU comes from /proc (workers include their ffmpeg children).
// Rounds alternate in ABBA order (bench/lib/harness.ts).
// Usage: npm run bench:scale [-- --swap --videos=6 --rounds=2 --sockets=1000 --rates=50,100,200,400 --seconds=5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { ChatSocket } from '../src/client/chat.client.js';
import { NovaClient } from '../src/client/nova-client.js';
import { createVideo, getVideo, uploadFile, waitForStatus } from '../src/client/videos.client.js';
import { makeClip } from '../test/fixtures/clips.js';
import { REDIS_TEST_URL } from '../test/helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../test/helpers/postgres.js';
import { spawnNova, type NovaProcess } from '../test/helpers/processes.js';
import { startS3, type TestS3 } from '../test/helpers/s3.js';
import { arg, fmt, ratioSpread, startBench } from './lib/harness.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds of a process and its reaped children (a worker's finished ffmpeg runs). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the command name.
    return fields.slice(11, 15).reduce((sum, v) => sum + Number(v), 0) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Cluster {
  db: TestDatabase;
  s3: TestS3;
  tmp: string;
  prefix: string;
  env: Record<string, string>;
  processes: NovaProcess[];
}

let spawned = 0;
async function spawn(c: Cluster, args: string[]): Promise<NovaProcess> {
  const dataDir = path.join(c.tmp, `node-${++spawned}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const p = await spawnNova(args, { ...c.env, DATA_DIR: dataDir }, 120_000);
  c.processes.push(p);
  return p;
}

// ---- transcodes -----------------------------------------------------------------------------------

interface TranscodeResult {
  workers: number;
  seconds: number;
  perMinute: number;
  cpuPerVideo: number;
}

async function transcodeRound(owner: NovaClient, workers: NovaProcess[], file: string, videos: number): Promise<TranscodeResult> {
  const cpu0 = workers.reduce((s, w) => s + cpuSeconds(w.child.pid), 0);
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < videos; i++) {
    const created = await createVideo(owner, { title: `bench ${i}` });
    ids.push(created.body.video.id);
    await uploadFile(owner, created.body.upload.url, file);
  }
  for (const id of ids) {
    const p = await waitForStatus(owner, id, ['ready', 'failed'], 30 * 60_000);
    if (p.status !== 'ready') throw new Error(`video ${id} failed: ${p.error}`);
  }
  // ready_at is stamped by the worker, so polling intervals do not count.
  const readyAt = await Promise.all(ids.map(async (id) => Date.parse((await getVideo(owner, id)).body.ready_at!)));
  const seconds = (Math.max(...readyAt) - t0) / 1000;
  const cpu = workers.reduce((s, w) => s + cpuSeconds(w.child.pid), 0) - cpu0;
  const r = { workers: workers.length, seconds, perMinute: (videos / seconds) * 60, cpuPerVideo: cpu / videos };
  console.log(
    `  ${r.workers} worker${r.workers > 1 ? 's' : ' '}: ${videos} videos ready in ${seconds.toFixed(1)} s (${r.perMinute.toFixed(1)}/min), worker CPU ${r.cpuPerVideo.toFixed(2)} s per video`,
  );
  return r;
}

// ---- chat -----------------------------------------------------------------------------------------

const MARK = Buffer.from('"event_type":"chat.message"');
const SAMPLED = 100;

interface ChatResult {
  nodes: number;
  rate: number;
  deliveredPerSecond: number;
  offeredPerSecond: number;
  p50: number;
  p99: number;
  lost: number;
  serverUsPerDelivery: number;
  /** CPU of this (client) process while loading: near 100 % means the client, not Nova, is the limit. */
  clientCpuPercent: number;
}

async function chatRound(nodes: NovaProcess[], streamId: string, tokens: string[], sockets: number, rate: number, seconds: number): Promise<ChatResult> {
  let measuring = false;
  let windowStart = 0;
  let windowEnd = Infinity;
  let inWindow = 0;
  let total = 0;
  const latencies: number[] = [];
  const receivers: ChatSocket[] = [];
  // Round robin over the nodes, as a load balancer would place them; batches spare the accept queues.
  for (let i = 0; i < sockets; i += 100) {
    receivers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, sockets - i) }, (_, j) => {
          const n = i + j;
          return ChatSocket.open(nodes[n % nodes.length].url!, streamId, {
            record: false,
            onFrame: (data) => {
              if (data.indexOf(MARK) === -1) return false;
              const now = performance.now();
              total++;
              if (measuring && now >= windowStart && now <= windowEnd) inWindow++;
              if (n < SAMPLED) {
                const sentAt = Number((JSON.parse(data.toString('utf8')) as { message: string }).message.split('|')[1]);
                if (sentAt >= windowStart && sentAt <= windowEnd) latencies.push(now - sentAt);
              }
              return false;
            },
          });
        }),
      )),
    );
  }
  const senders = await Promise.all(tokens.map((token, i) => ChatSocket.open(nodes[i % nodes.length].url!, streamId, { token, record: false, onFrame: () => false })));
  await new Promise((r) => setTimeout(r, 500));

  const cpu0 = nodes.reduce((s, n) => s + cpuSeconds(n.child.pid), 0);
  const clientCpu0 = process.cpuUsage();
  const start = performance.now();
  windowStart = start + 2000;
  windowEnd = windowStart + seconds * 1000;
  measuring = true;
  let sent = 0;
  let sentInWindow = 0;
  const timer = setInterval(() => {
    const target = Math.floor((rate * (Math.min(performance.now(), windowEnd) - start)) / 1000);
    while (sent < target) {
      const t = performance.now();
      senders[sent % senders.length].send(`${sent}|${t.toFixed(3)}`);
      if (t >= windowStart && t <= windowEnd) sentInWindow++;
      sent++;
    }
  }, 5);
  await new Promise((r) => setTimeout(r, windowEnd - start));
  clearInterval(timer);
  let last = -1;
  const drainUntil = performance.now() + 15_000;
  while (total !== last && performance.now() < drainUntil) {
    last = total;
    await new Promise((r) => setTimeout(r, 1000));
  }
  measuring = false;
  const clientCpu = process.cpuUsage(clientCpu0);
  const clientCpuPercent = ((clientCpu.user + clientCpu.system) / 1000 / (performance.now() - start)) * 100;
  const cpu = nodes.reduce((s, n) => s + cpuSeconds(n.child.pid), 0) - cpu0;
  const open = receivers.filter((s) => s.ws.readyState === WebSocket.OPEN).length;
  for (const s of [...receivers, ...senders]) s.ws.terminate();
  latencies.sort((a, b) => a - b);
  const r: ChatResult = {
    nodes: nodes.length,
    rate,
    deliveredPerSecond: inWindow / seconds,
    offeredPerSecond: (sentInWindow * sockets) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: Math.max(0, sentInWindow * SAMPLED - latencies.length),
    serverUsPerDelivery: (cpu * 1e6) / Math.max(1, total),
    clientCpuPercent,
  };
  console.log(
    `  ${r.nodes} node${r.nodes > 1 ? 's' : ' '} @ ${rate} msg/s: delivered ${Math.round(r.deliveredPerSecond).toLocaleString('en')}/s of ${Math.round(r.offeredPerSecond).toLocaleString('en')}/s offered, ` +
      `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, server CPU ${r.serverUsPerDelivery.toFixed(2)} µs/delivery (all nodes), client CPU ${r.clientCpuPercent.toFixed(0)}%${open < sockets ? `, ${sockets - open} sockets dropped` : ''}`,
  );
  await new Promise((r) => setTimeout(r, 1000));
  return r;
}

// ---- orchestration --------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const videos = Number(arg('videos', '6'));
  const bench = startBench('scale', { a: '2 workers / 2 nodes', b: '1 worker / 1 node' }, { rounds: 2 });
  const rounds = bench.rounds;
  const sockets = Number(arg('sockets', '1000'));
  const rates = arg('rates', '50,100,200,400').split(',').map(Number);
  const seconds = Number(arg('seconds', '5'));
  console.log(
    `scale-out on ${os.cpus().length} cores (load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-scale-bench-'));
  const prefix = `nova-bench-scale-${Date.now().toString(36)}`;
  const c: Cluster = { db: await createTestDatabase(), s3: await startS3(), tmp, prefix, env: {}, processes: [] };
  fs.mkdirSync(path.join(tmp, 'models'));
  c.env = {
    DATABASE_URL: c.db.url,
    REDIS_URL: REDIS_TEST_URL,
    QUEUE_PREFIX: prefix,
    CHAT_REDIS_PREFIX: `${prefix}:chat:`,
    TRENDING_REDIS_PREFIX: `${prefix}:trending:`,
    ...c.s3.env,
    UPLOAD_STORE: 'file',
    UPLOAD_DIR: path.join(tmp, 'uploads'),
    MODELS_DIR: path.join(tmp, 'models'),
    FFMPEG_PRESET: process.env.FFMPEG_PRESET ?? 'veryfast',
    CHAT_RATE_MESSAGES: '100000',
    CHAT_RATE_WINDOW_SECONDS: '1',
    CHAT_MAX_SOCKETS_PER_ADDRESS: '0',
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    CHAT_MAX_SOCKETS: '100000',
    LOG_LEVEL: 'info',
  };
  try {
    const apiA = await spawn(c, ['serve', '--no-worker']);
    const base = new NovaClient(apiA.url!);
    await base.newUser('admin');
    const owner = (await base.newUser('owner')).client;

    // 1. Transcodes: 1 worker, then 2, alternating.
    const file = path.join(tmp, 'clip.mp4');
    await makeClip({ width: 640, height: 360, seconds: 4, fps: 25 }, file);
    console.log(`\ntranscodes: ${videos} clips (640x360, 4 s) per round, preset ${c.env.FFMPEG_PRESET}, ${rounds} round(s) per configuration`);
    const workers: NovaProcess[] = [await spawn(c, ['worker', '--concurrency', '1'])];
    const withWorkers = async (count: number) => {
      while (workers.length < count) workers.push(await spawn(c, ['worker', '--concurrency', '1']));
      while (workers.length > count) await workers.pop()!.kill('SIGTERM');
      return transcodeRound(owner, workers, file, videos);
    };
    const { a: two, b: one } = await bench.alternate({ a: () => withWorkers(2), b: () => withWorkers(1) }, { rounds });
    for (const w of workers.splice(0)) await w.kill('SIGTERM');

    // 2. Chat: every socket on one node, then spread over two, alternating at each rate.
    const apiB = await spawn(c, ['serve', '--no-worker']);
    const creator = (await base.newUser('creator')).client;
    const stream = await creator.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'bench' });
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) tokens.push((await base.newUser('sender')).client.token!);
    console.log(`\nchat: ${sockets} sockets on one stream, ${tokens.length} senders, ${seconds} s per rate`);
    const chat: ChatResult[] = [];
    for (const [i, rate] of rates.entries()) {
      // ABBA over the rates: two nodes first at even rates (one node first with --swap).
      const configs = (i % 2 === 0) !== bench.swap ? [[apiA, apiB], [apiA]] : [[apiA], [apiA, apiB]];
      for (const nodes of configs) chat.push(await chatRound(nodes, stream.body.stream.id, tokens, sockets, rate, seconds));
    }

    console.log('\nsummary');
    const m1 = median(one.map((r) => r.perMinute));
    const m2 = median(two.map((r) => r.perMinute));
    const txRatio = ratioSpread(
      two.map((r) => r.perMinute),
      one.map((r) => r.perMinute),
    );
    console.log(`  transcodes/min, median: 1 worker ${m1.toFixed(1)}, 2 workers ${m2.toFixed(1)}: ratio 2/1 per round ${fmt(txRatio)}`);
    console.log(`  worker CPU s per video, median: 1 worker ${median(one.map((r) => r.cpuPerVideo)).toFixed(2)}, 2 workers ${median(two.map((r) => r.cpuPerVideo)).toFixed(2)}`);
    for (const rate of rates) {
      const a = chat.find((r) => r.rate === rate && r.nodes === 1)!;
      const b = chat.find((r) => r.rate === rate && r.nodes === 2)!;
      console.log(
        `  chat @ ${rate} msg/s: delivered/s 1 node ${Math.round(a.deliveredPerSecond).toLocaleString('en')}, 2 nodes ${Math.round(b.deliveredPerSecond).toLocaleString('en')}: ratio 2/1 = ${(b.deliveredPerSecond / a.deliveredPerSecond).toFixed(2)}x; ` +
          `p99 ${a.p99.toFixed(1)} vs ${b.p99.toFixed(1)} ms; server CPU ${a.serverUsPerDelivery.toFixed(2)} vs ${b.serverUsPerDelivery.toFixed(2)} µs/delivery`,
      );
    }
    bench.target('2 workers / 1 worker transcodes per minute', txRatio.median, '>=', 1.0);
    const top = rates[rates.length - 1];
    const a1 = chat.find((r) => r.rate === top && r.nodes === 1)!;
    const b2 = chat.find((r) => r.rate === top && r.nodes === 2)!;
    bench.target(`2 nodes / 1 node chat deliveries/s at ${top} msg/s`, b2.deliveredPerSecond / a1.deliveredPerSecond, '>=', 0.95);
    bench.finish();
  } finally {
    for (const p of c.processes) await p.kill('SIGKILL');
    await c.s3.stop();
    await c.db.drop();
    const r = new Redis(REDIS_TEST_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
