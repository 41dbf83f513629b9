// API benchmark: the cached trending list (GET /api/v1/discover/trending, the whole Nova app: auth
// hook, metrics, problem+json errors, OpenAPI-described route) against a bare Fastify route that
// sends the very same bytes, same run; then the model-ranked feed for 50 different viewers over
// 1,000 candidate videos against a bare route sending each viewer's feed bytes from memory. Each
// server runs in its own process; autocannon runs in a third. Also measures how soon a view
// reaches the trending SSE stream.
// Rounds alternate in ABBA order (bench/lib/harness.ts); CPU per request is read from /proc.
// Usage: npm run bench:api [-- --seconds=8 --connections=50 --rounds=4 --swap --part=feed]
// (--part=trending or --part=feed runs only that comparison; both by default; --cpu-prof=DIR writes
// a CPU profile of the Nova process to DIR, for node's --cpu-prof readers)
import { execFile, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { arg, fmt, ratioSpread, spread, startBench, treeCpuSeconds } from './lib/harness.js';

const SELF = fileURLToPath(import.meta.url);
const TRENDING = '/api/v1/discover/trending?window=24h&limit=20';
const FEED = '/api/v1/feed?limit=20';
const VIEWERS = 50;
const CANDIDATES = 1000;

// ---- servers (child processes) --------------------------------------------------------------

/**
 * Nova on SQLite with 1,000 ready videos by 50 creators, engagement totals on all of them, and view
 * events on 40 spread over the last day (for trending). Every video is a feed candidate.
 */
async function novaServer(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/infra/logger.js');
  const { startNova } = await import('../src/server.js');
  const { appendEvent } = await import('../src/events/outbox.repository.js');
  const { v7: uuidv7 } = await import('uuid');
  const { seedReadyVideo } = await import('../test/helpers/videos-db.js');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-api-bench-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RTMP_PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ANON_VIEWS_PER_MINUTE: '1000000',
    FEED_MAX_CANDIDATES: String(CANDIDATES),
    PASSWORD_SCRYPT_LOG_N: '14',
    REGISTER_MAX_PER_ADDRESS: '0',
  });
  const nova = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  const db = nova.container.db.kysely;
  const now = Date.now();
  const owners = Array.from({ length: 50 }, () => uuidv7());
  await db
    .insertInto('users')
    .values(owners.map((id, i) => ({ id, username: `bench_creator${i}`, username_lower: `bench_creator${i}`, password_hash: 'x', role: 'user' as const, created_at: new Date(now).toISOString() })))
    .execute();
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < CANDIDATES; i++) {
      const id = uuidv7();
      // One an hour for the first 40 (trending's day), then spread over the 30-day candidate window.
      const at = new Date(now - (i < 40 ? i * 3_600_000 : 40 * 3_600_000 + i * 2_400_000)).toISOString();
      await seedReadyVideo(trx, { id, owner_id: owners[i % owners.length], title: `Benchmark video ${i}`, duration_seconds: 60 + (i % 600), created_at: at });
      await trx
        .insertInto('video_stats')
        .values({ video_id: id, views: (i * 37) % 500, likes: (i * 11) % 40, watch_seconds: (i * 53) % 9000, updated_at: at })
        .execute();
      if (i < 40) {
        for (let j = 0; j < 5 + ((i * 7) % 23); j++) {
          await appendEvent(trx, 'video.viewed', id, { video_id: id, viewer_id: null, timestamp: new Date(now - ((i * 13 + j * 17) % 1440) * 60_000).toISOString() });
        }
      }
    }
  });
  process.send?.({ type: 'ready', url: nova.url });
  process.on('message', async () => {
    await nova.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** The baseline: Fastify answering the same JSON bytes from memory (the feed: the caller's own). */
async function bareServer(body: string, feedFile: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  const feeds = new Map(Object.entries(JSON.parse(fs.readFileSync(feedFile, 'utf8')) as Record<string, string>));
  app.get('/api/v1/discover/trending', async (_req, reply) => reply.type('application/json').send(body));
  app.get('/api/v1/feed', async (req, reply) => {
    const feedBody = feeds.get(req.headers.authorization ?? '');
    return feedBody === undefined ? reply.code(401).send() : reply.type('application/json').send(feedBody);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${addr.port}` });
  process.on('message', () => void app.close().then(() => process.exit(0)));
}

// ---- orchestrator -----------------------------------------------------------------------------

function start(role: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const profileDir = role === 'nova' ? arg('cpu-prof', '') : '';
  const execArgv = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [])];
  const child = fork(SELF, [role, ...extra], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** autocannon in its own process; with a tokens file, each request signs in as the next viewer in turn. */
async function load(url: string, seconds: number, connections: number, tokensFile?: string): Promise<Result> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SELF, 'load', url, String(seconds), String(connections), tokensFile ?? ''], { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

async function loadRunner(url: string, seconds: string, connections: string, tokensFile: string): Promise<void> {
  const { default: autocannon } = await import('autocannon');
  const tokens = tokensFile ? (JSON.parse(fs.readFileSync(tokensFile, 'utf8')) as string[]) : [];
  let next = 0;
  const result = await autocannon({
    url,
    connections: Number(connections),
    duration: Number(seconds),
    requests: [
      {
        setupRequest: (req) => (tokens.length ? { ...req, headers: { ...req.headers, authorization: tokens[next++ % tokens.length] } } : req),
      },
    ],
  });
  process.stdout.write(JSON.stringify(result));
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
  const part = arg('part', 'all');
  if (!['all', 'trending', 'feed'].includes(part)) throw new Error('--part must be all, trending or feed');
  const bench = startBench('api', { a: 'nova', b: 'bare Fastify' });
  const nova = await start('nova');
  const body = await fullList(nova.url);
  // Signed-in viewers, each with their own likes and watch time, so no two feeds are the same; each
  // viewer's body (ranked by the shipped model) is what the bare route sends them.
  const ids = (JSON.parse(body) as { items: Array<{ id: string }> }).items.map((i) => i.id);
  const feeds: Record<string, string> = {};
  for (let v = 0; v < VIEWERS; v++) {
    const reg = await fetch(`${nova.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `bench_viewer_${v}_${Date.now() % 1e6}`, password: 'password-123' }),
    });
    const { token } = (await reg.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    for (const id of [ids[v % ids.length], ids[(v * 7 + 3) % ids.length]]) await fetch(`${nova.url}/api/v1/videos/${id}/like`, { method: 'PUT', headers });
    await fetch(`${nova.url}/api/v1/videos/${ids[(v * 3 + 1) % ids.length]}/watch`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ seconds: 90 }),
    });
    const feedRes = await fetch(`${nova.url}${FEED}`, { headers });
    const feedBody = await feedRes.text();
    if (feedRes.status !== 200) throw new Error(`feed answered ${feedRes.status}: ${feedBody.slice(0, 200)}`);
    feeds[headers.authorization] = feedBody;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-api-bench-feeds-'));
  const feedFile = path.join(work, 'feeds.json');
  const tokensFile = path.join(work, 'tokens.json');
  fs.writeFileSync(feedFile, JSON.stringify(feeds));
  fs.writeFileSync(tokensFile, JSON.stringify(Object.keys(feeds)));
  const bare = await start('bare', [body, feedFile]);
  try {
    console.log(`trending body ${body.length} bytes (20 items); ${connections} connections, ${seconds} s per run; req/s (p50 / p99 latency ms)`);
    // CPU seconds of the server process per request: far steadier than req/s on a shared machine.
    // Nova's includes its model process (a child).
    const measure = async (server: { child: ChildProcess; url: string }, path: string, auth?: string) => {
      const cpu0 = treeCpuSeconds(server.child.pid!);
      const r = await load(`${server.url}${path}`, seconds, connections, auth);
      return { ...r, cpuUs: ((treeCpuSeconds(server.child.pid!) - cpu0) / Math.max(1, r.rps * seconds)) * 1e6 };
    };
    const compare = async (label: string, path: string, auth?: string) => {
      // Warm-up (JIT, caches), not counted.
      for (const url of [bare.url, nova.url]) await load(`${url}${path}`, 2, connections, auth);
      const { a: ours, b: base } = await bench.alternate({ a: () => measure(nova, path, auth), b: () => measure(bare, path, auth) });
      const ratio = ratioSpread(
        ours.map((x) => x.rps),
        base.map((x) => x.rps),
      );
      const errors = [...base, ...ours].reduce((n, r) => n + r.errors, 0);
      const show = (rs: Array<Result & { cpuUs: number }>) =>
        `${fmt(spread(rs.map((x) => x.rps)), 0)} req/s, p50 ${spread(rs.map((x) => x.p50)).median} / p99 ${spread(rs.map((x) => x.p99)).median} ms, CPU ${fmt(spread(rs.map((x) => x.cpuUs)), 0, ' µs/req')}`;
      console.log(`${label}\n  bare Fastify  ${show(base)}\n  nova          ${show(ours)}\n  nova/bare per round ${fmt(ratio)}${errors ? `   errors ${errors}` : ''}`);
      return { ratio, p99: spread(ours.map((x) => x.p99)).median, cpuUs: spread(ours.map((x) => x.cpuUs)).median };
    };
    if (part !== 'feed') {
      const trending = await compare('GET trending (cached)', TRENDING);
      bench.target('trending nova/bare req/s', trending.ratio.median, '>=', 0.5);
    }
    if (part !== 'trending') {
      const ranking = JSON.parse(Object.values(feeds)[0]) as { ranking: string; items: unknown[] };
      const feed = await compare(`GET feed (${VIEWERS} viewers in turn, ${CANDIDATES} candidates, ${ranking.ranking}, ${ranking.items.length} items)`, FEED, tokensFile);
      console.log(`feed CPU per request (Nova and its model process): ${feed.cpuUs.toFixed(0)} µs`);
      bench.target('feed nova/bare req/s', feed.ratio.median, '>=', 0.25);
      bench.target('feed p99 ms', feed.p99, '<=', 25, 0);
    }
    if (part !== 'feed') {
      const lat = await sseLatency(nova.url, 20);
      console.log(`view → trending SSE event: p50 ${lat[Math.floor(lat.length / 2)].toFixed(0)} ms, max ${lat[lat.length - 1].toFixed(0)} ms (20 views, one at a time)`);
    }
  } finally {
    bench.finish();
    nova.child.send({ type: 'stop' });
    bare.child.send({ type: 'stop' });
    await Promise.all([nova.child, bare.child].map((c) => new Promise((r) => c.once('exit', r))));
  }
}

const [role, extra, extra2, extra3, extra4] = process.argv.slice(2);
if (role === 'nova') void novaServer();
else if (role === 'bare') void bareServer(extra, extra2);
else if (role === 'load') void loadRunner(extra, extra2, extra3, extra4);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
