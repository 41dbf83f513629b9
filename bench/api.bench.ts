// API benchmark: the cached trending list (GET /api/v1/discover/trending, the whole Nova app: auth
// hook, metrics, problem+json errors, OpenAPI-described route) against a bare Fastify route that
// sends the very same bytes, same run. Each server runs in its own process; autocannon runs in a
// third. Also measures how soon a view reaches the trending SSE stream.
// Rounds alternate in ABBA order (bench/lib/harness.ts); CPU per request is read from /proc.
// Usage: npm run bench:api [-- --seconds=8 --connections=50 --rounds=4 --swap]
import { execFile, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { arg, cpuSeconds, fmt, ratioSpread, spread, startBench } from './lib/harness.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const TRENDING = '/api/v1/discover/trending?window=24h&limit=20';
const FEED = '/api/v1/feed?limit=20';

// ---- servers (child processes) --------------------------------------------------------------

/** Nova on SQLite with 40 ready videos and engagement spread over the last day. */
async function novaServer(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/infra/logger.js');
  const { startNova } = await import('../src/server.js');
  const { appendEvent } = await import('../src/events/outbox.repository.js');
  const { v7: uuidv7 } = await import('uuid');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-api-bench-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ANON_VIEWS_PER_MINUTE: '1000000' });
  const nova = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  const db = nova.container.db.kysely;
  const owner = uuidv7();
  const now = Date.now();
  await db.insertInto('users').values({ id: owner, username: 'bench_creator', username_lower: 'bench_creator', password_hash: 'x', role: 'user', created_at: new Date(now).toISOString() }).execute();
  for (let i = 0; i < 40; i++) {
    const id = uuidv7();
    const at = new Date(now - i * 3_600_000).toISOString();
    await db.insertInto('videos').values({
      id, owner_id: owner, title: `Benchmark video ${i}`, description: '', status: 'ready',
      source_key: null, source_size: null, source_stream_id: null, upload_id: null, duration_seconds: 60 + i, width: 1280, height: 720, fps: 30,
      has_audio: 1, video_codec: 'h264', audio_codec: 'aac', run_id: null, renditions: null, manifest_key: null, thumbnail_key: null,
      storyboard_key: null, storyboard_vtt_key: null, playable_key: null, stage: null, progress: 100, error: null,
      created_at: at, updated_at: at, ready_at: at,
    }).execute();
    await db.transaction().execute(async (trx) => {
      for (let j = 0; j < 5 + ((i * 7) % 23); j++) {
        await appendEvent(trx, 'video.viewed', id, { video_id: id, viewer_id: null, timestamp: new Date(now - ((i * 13 + j * 17) % 1440) * 60_000).toISOString() });
      }
    });
  }
  process.send?.({ type: 'ready', url: nova.url });
  process.on('message', async () => {
    await nova.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** The baseline: Fastify with one route answering the same JSON bytes from memory. */
async function bareServer(body: string, feedBody: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/api/v1/discover/trending', async (_req, reply) => reply.type('application/json').send(body));
  app.get('/api/v1/feed', async (_req, reply) => reply.type('application/json').send(feedBody));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${addr.port}` });
  process.on('message', () => void app.close().then(() => process.exit(0)));
}

// ---- orchestrator -----------------------------------------------------------------------------

function start(role: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(SELF, [role, ...extra], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`${role} exited (${code})`)));
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, seconds: number, connections: number, token?: string): Promise<Result> {
  const bin = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const auth = token ? ['-H', `authorization=Bearer ${token}`] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '-j', '-c', String(connections), '-d', String(seconds), ...auth, url], { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Waits until the list has 20 items, i.e. the relay and the trending consumer caught up. */
async function fullList(url: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}${TRENDING}`);
    const body = await res.text();
    if (res.status === 200 && (JSON.parse(body) as { items: unknown[] }).items.length === 20) return body;
    if (Date.now() > deadline) throw new Error(`trending never filled: ${res.status} ${body.slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Time from a view (HTTP 200) to the SSE event that shows it, `n` times. */
async function sseLatency(url: string, n: number): Promise<number[]> {
  const { NovaClient } = await import('../src/client/nova-client.js');
  const { openTrendingStream } = await import('../src/client/trending.client.js');
  const { recordView } = await import('../src/client/engagement.client.js');
  const c = new NovaClient(url);
  const stream = await openTrendingStream(c, '1h', 40);
  await stream.next(() => true);
  const first = stream.events[0].items[0];
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const want = first.view_count + i + 1;
      const t0 = performance.now();
      const res = await recordView(c, first.id, `bench-viewer-${i}-${Date.now()}`);
      if (res.status !== 200) throw new Error(`view answered ${res.status}`);
      await stream.next((p) => p.items.some((it) => it.id === first.id && it.view_count >= want));
      out.push(performance.now() - t0);
    }
  } finally {
    stream.close();
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '8'));
  const connections = Number(arg('connections', '50'));
  const bench = startBench('api', { a: 'nova', b: 'bare Fastify' });
  const nova = await start('nova');
  const body = await fullList(nova.url);
  // A signed-in viewer for the feed; its body (ranked by the shipped model) is what the bare route sends.
  const reg = await fetch(`${nova.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `bench_viewer_${Date.now() % 1e6}`, password: 'password-123' }) });
  const { token } = (await reg.json()) as { token: string };
  const feedRes = await fetch(`${nova.url}${FEED}`, { headers: { authorization: `Bearer ${token}` } });
  const feedBody = await feedRes.text();
  if (feedRes.status !== 200) throw new Error(`feed answered ${feedRes.status}: ${feedBody.slice(0, 200)}`);
  const bare = await start('bare', [body, feedBody]);
  try {
    console.log(`trending body ${body.length} bytes (20 items); ${connections} connections, ${seconds} s per run; req/s (p50 / p99 latency ms)`);
    // CPU seconds of the server process per request: far steadier than req/s on a shared machine.
    const measure = async (server: { child: ChildProcess; url: string }, path: string, auth?: string) => {
      const cpu0 = cpuSeconds(server.child.pid!);
      const r = await load(`${server.url}${path}`, seconds, connections, auth);
      return { ...r, cpuUs: ((cpuSeconds(server.child.pid!) - cpu0) / Math.max(1, r.rps * seconds)) * 1e6 };
    };
    const compare = async (label: string, path: string, auth?: string) => {
      // Warm-up (JIT, caches), not counted.
      for (const url of [bare.url, nova.url]) await load(`${url}${path}`, 2, connections, auth);
      const { a: ours, b: base } = await bench.alternate({ a: () => measure(nova, path, auth), b: () => measure(bare, path, auth) });
      const ratio = ratioSpread(ours.map((x) => x.rps), base.map((x) => x.rps));
      const errors = [...base, ...ours].reduce((n, r) => n + r.errors, 0);
      const show = (rs: Array<Result & { cpuUs: number }>) =>
        `${fmt(spread(rs.map((x) => x.rps)), 0)} req/s, p50 ${spread(rs.map((x) => x.p50)).median} / p99 ${spread(rs.map((x) => x.p99)).median} ms, CPU ${fmt(spread(rs.map((x) => x.cpuUs)), 0, ' µs/req')}`;
      console.log(`${label}\n  bare Fastify  ${show(base)}\n  nova          ${show(ours)}\n  nova/bare per round ${fmt(ratio)}${errors ? `   errors ${errors}` : ''}`);
      return { ratio, p99: spread(ours.map((x) => x.p99)).median };
    };
    const trending = await compare('GET trending (cached)', TRENDING);
    const ranking = JSON.parse(feedBody) as { ranking: string; items: unknown[] };
    const feed = await compare(`GET feed (${ranking.ranking}, ${ranking.items.length} items)`, FEED, token);
    bench.target('trending nova/bare req/s', trending.ratio.median, '>=', 0.5);
    bench.target('feed nova/bare req/s', feed.ratio.median, '>=', 0.25);
    bench.target('feed p99 ms', feed.p99, '<=', 25, 0);
    const lat = await sseLatency(nova.url, 20);
    console.log(`view → trending SSE event: p50 ${lat[Math.floor(lat.length / 2)].toFixed(0)} ms, max ${lat[lat.length - 1].toFixed(0)} ms (20 views, one at a time)`);
  } finally {
    bench.finish();
    nova.child.send({ type: 'stop' });
    bare.child.send({ type: 'stop' });
    await Promise.all([nova.child, bare.child].map((c) => new Promise((r) => c.once('exit', r))));
  }
}

const [role, extra, extra2] = process.argv.slice(2);
if (role === 'nova') void novaServer();
else if (role === 'bare') void bareServer(extra, extra2);
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});
