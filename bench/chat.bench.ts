// Chat fan-out benchmark: Nova's chat against a plain `ws` broadcast loop, same load, same run.
// Three processes per system: the server, and a separate client process that opens N sockets to
// one stream (plus a few senders) and sends at fixed offered rates; the orchestrator prints
// delivered messages/s, send→receive p50/p99, server RSS per socket, and a 10,000-idle-socket run.
// The baseline is what a careful engineer writes with `ws` (one serialisation per message, cork/
// uncork per socket); the load runs in --clients processes, and a run whose client falls behind is
// discarded. Usage: npm run bench:chat [-- --swap --clients=2 --sockets=2000 --rates=25,50,75,100,150,200 --seconds=8 --senders=10 --idle=10000]
// (CHAT_FLUSH_INTERVAL_MS in the environment is passed to the Nova server, to compare coalescing windows.)
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { ChatSocket } from '../src/client/chat.client.js';
import { NovaClient } from '../src/client/nova-client.js';
import { startBench } from './lib/harness.js';

const SELF = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;

type Msg = { type: string; [k: string]: unknown };
const send = (m: Msg) => process.send?.(m);

function child(role: string): ChildProcess {
  return fork(SELF, [role], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function request<T extends Msg>(p: ChildProcess, m: Msg, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (r: Msg) => {
      if (r.type !== reply) return;
      p.off('message', onMsg);
      p.off('exit', onExit);
      resolve(r as T);
    };
    const onExit = (code: number) => reject(new Error(`child exited (${code}) while waiting for ${reply}`));
    p.on('message', onMsg);
    p.on('exit', onExit);
    p.send(m);
  });
}

/** Answers memory and CPU questions from the orchestrator (servers only). */
function serveStats(): void {
  // Event-loop delay since the previous question: how long ready work waited in the server.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  process.on('message', (m: Msg) => {
    if (m.type !== 'stats') return;
    const loopP99Ms = delay.percentile(99) / 1e6;
    const loopMaxMs = delay.max / 1e6;
    delay.reset();
    (globalThis as { gc?: () => void }).gc?.();
    send({ type: 'stats', rss: process.memoryUsage().rss, cpu: process.cpuUsage(), loopP99Ms, loopMaxMs });
  });
}

// ---- servers ------------------------------------------------------------------------------------

async function novaServer(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/infra/logger.js');
  const { startNova } = await import('../src/server.js');
  const dataDir = fs.mkdtempSync(path.join(process.env.BENCH_DATA_DIR ?? os.tmpdir(), 'nova-chat-bench-'));
  // Per-user limits are raised so ten senders can carry the offered rate; the checks still run.
  // Every benchmark socket comes from loopback, so the per-address socket cap is lifted too.
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RTMP_PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    CHAT_RATE_MESSAGES: '100000',
    CHAT_RATE_WINDOW_SECONDS: '1',
    CHAT_MAX_SOCKETS: '100000',
    CHAT_MAX_SOCKETS_PER_ADDRESS: '0',
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    ...(process.env.CHAT_FLUSH_INTERVAL_MS ? { CHAT_FLUSH_INTERVAL_MS: process.env.CHAT_FLUSH_INTERVAL_MS } : {}),
  });
  const nova = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  serveStats();
  process.on('message', async (m: Msg) => {
    if (m.type !== 'stop') return;
    await nova.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
  send({ type: 'ready', url: nova.url, dataDir });
}

/**
 * The baseline: the chat server a careful engineer writes with `ws` alone. Each message is
 * serialised once to a Buffer; messages arriving in one event-loop turn are written to each socket
 * between cork() and uncork(), so a burst costs one syscall per socket, not one per message.
 */
async function baselineServer(): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  const streamId = randomUUID();
  let pending: Buffer[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    for (const c of wss.clients) {
      if (c.readyState !== WebSocket.OPEN) continue;
      const sock = (c as unknown as { _socket: import('node:net').Socket })._socket;
      sock.cork();
      for (const b of batch) c.send(b, { binary: false });
      sock.uncork();
    }
  };
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ event_type: 'chat.history', messages: [] }));
    ws.on('message', (data) => {
      let frame: { type?: string; message?: string };
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (frame.type !== 'chat.send' || typeof frame.message !== 'string') return;
      const out = Buffer.from(
        JSON.stringify({
          event_type: 'chat.message',
          stream_id: streamId,
          user_id: 'u',
          username: 'user',
          message: frame.message.trim(),
          created_at: new Date().toISOString(),
          comment_id: randomUUID(),
        }),
      );
      if (pending.push(out) === 1) setImmediate(flush);
    });
  });
  serveStats();
  process.on('message', (m: Msg) => {
    if (m.type === 'stop') process.exit(0);
  });
  const port = (wss.address() as { port: number }).port;
  send({ type: 'ready', url: `http://127.0.0.1:${port}`, streamId });
}

// ---- client process --------------------------------------------------------------------------------

const MARK = Buffer.from('"event_type":"chat.message"');
const SAMPLED = 100;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Milliseconds on a clock every process shares (epoch-based, sub-millisecond). */
const clock = () => performance.timeOrigin + performance.now();

/**
 * A load-generator process: holds its share of the receiving sockets and, for the first process
 * only, the senders. Several run side by side so no single client's event loop limits the run.
 */
async function clientProcess(): Promise<void> {
  let receivers: ChatSocket[] = [];
  let senders: ChatSocket[] = [];
  let measuring = false;
  let windowStart = 0;
  let windowEnd = Infinity;
  let deliveredInWindow = 0;
  let deliveredTotal = 0;
  let latencies: number[] = [];

  const openMany = async (url: string, path: string, count: number, opts: (i: number) => Parameters<typeof ChatSocket.open>[2]) => {
    const out: ChatSocket[] = [];
    // Batches of 200 so the server's accept queue is not overrun.
    for (let i = 0; i < count; i += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, j) => ChatSocket.open(url, path, opts(i + j))));
      out.push(...batch);
    }
    return out;
  };

  process.on('message', async (m: Msg) => {
    if (m.type === 'connect') {
      const { url, streamId, count, tokens, idle, sampled } = m as unknown as { url: string; streamId: string; count: number; tokens: Array<string | null>; idle: boolean; sampled: number };
      receivers = await openMany(url, streamId, count, (i) => ({
        record: false,
        skipUtf8Validation: true,
        onFrame: idle
          ? () => false
          : (data) => {
              if (data.indexOf(MARK) === -1) return false;
              const now = clock();
              deliveredTotal++;
              if (measuring && now >= windowStart && now <= windowEnd) deliveredInWindow++;
              if (i < sampled) {
                const text = (JSON.parse(data.toString('utf8')) as { message: string }).message;
                const sentAt = Number(text.split('|')[1]);
                if (sentAt >= windowStart && sentAt <= windowEnd) latencies.push(now - sentAt);
              }
              return false;
            },
      }));
      senders = idle ? [] : await Promise.all(tokens.map((token) => ChatSocket.open(url, streamId, { token, record: false, onFrame: () => false })));
      send({ type: 'connected', open: receivers.filter((r) => r.ws.readyState === WebSocket.OPEN).length });
    } else if (m.type === 'load') {
      const { rate, startAt, warmupMs, durationMs } = m as unknown as { rate: number; startAt: number; warmupMs: number; durationMs: number };
      deliveredInWindow = 0;
      deliveredTotal = 0;
      latencies = [];
      const cpu0 = process.cpuUsage();
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const start = startAt;
      windowStart = start + warmupMs;
      windowEnd = windowStart + durationMs;
      measuring = true;
      let sent = 0;
      let sentInWindow = 0;
      const timer =
        senders.length === 0
          ? undefined
          : setInterval(() => {
              const now = clock();
              if (now < start) return;
              const target = Math.floor((rate * (Math.min(now, windowEnd) - start)) / 1000);
              while (sent < target) {
                const t = clock();
                senders[sent % senders.length].send(`${sent}|${t.toFixed(3)}`);
                if (t >= windowStart && t <= windowEnd) sentInWindow++;
                sent++;
              }
            }, 5);
      await new Promise((r) => setTimeout(r, Math.max(0, windowEnd - clock())));
      if (timer) clearInterval(timer);
      // Drain: wait until deliveries stop arriving (late ones still count for latency).
      let last = -1;
      const drainDeadline = clock() + 15_000;
      while (deliveredTotal !== last && clock() < drainDeadline) {
        last = deliveredTotal;
        await new Promise((r) => setTimeout(r, 1000));
      }
      measuring = false;
      const cpu = process.cpuUsage(cpu0);
      const open = receivers.filter((r) => r.ws.readyState === WebSocket.OPEN).length;
      send({
        type: 'result',
        deliveredInWindow,
        deliveredTotal,
        sentInWindow,
        latencies,
        open,
        receivers: receivers.length,
        cpuPercent: ((cpu.user + cpu.system) / 1000 / (clock() - start)) * 100,
        loopP99Ms: loop.percentile(99) / 1e6,
      });
      loop.disable();
    } else if (m.type === 'close') {
      for (const s of [...receivers, ...senders]) s.ws.terminate();
      receivers = [];
      senders = [];
      send({ type: 'closed' });
    }
  });
  send({ type: 'ready' });
}

// ---- orchestrator ------------------------------------------------------------------------------

interface Result {
  rate: number;
  deliveredPerSecond: number;
  deliveredTotal: number;
  /** Server CPU time per delivered message, in µs: robust to other load on the machine. */
  serverUsPerDelivery?: number;
  offeredDeliveriesPerSecond: number;
  p50: number;
  p99: number;
  lost: number;
  open: number;
  clientCpuPercent: number;
  clientLoopP99Ms: number;
  /** The load generator fell behind (its event loop or CPU saturated): the run says nothing of the server. */
  discarded: boolean;
}

/** Client limits past which a run measures the load generator rather than the server. */
const CLIENT_MAX_LOOP_P99_MS = 50;
const CLIENT_MAX_CPU_PERCENT = 90;

/** A started server (Nova or the baseline) and how to read its resource use. */
interface Server {
  proc: ChildProcess;
  url: string;
  streamId: string;
  tokens: string[];
  stats: () => Promise<{ rss: number; cpu: NodeJS.CpuUsage; loopP99Ms: number; loopMaxMs: number }>;
  dataDir?: string;
}

async function startServer(kind: 'nova' | 'baseline'): Promise<Server> {
  const proc = child(kind);
  const [ready] = (await once(proc, 'message')) as [Msg];
  const url = ready.url as string;
  const dataDir = ready.dataDir as string | undefined;
  let streamId = ready.streamId as string;
  const senders = Number(arg('senders', '10'));
  let tokens: string[] = Array.from({ length: senders }, () => '');
  if (kind === 'nova') {
    const api = new NovaClient(url);
    const creator = await api.newUser('creator');
    const res = await creator.client.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'bench' });
    streamId = res.body.stream.id;
    tokens = [];
    for (let i = 0; i < senders; i++) tokens.push((await api.newUser('sender')).client.token!);
  }
  const stats = () => request<Msg & { rss: number; cpu: NodeJS.CpuUsage; loopP99Ms: number; loopMaxMs: number }>(proc, { type: 'stats' }, 'stats');
  return { proc, url, streamId, tokens, stats, dataDir };
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  p.send({ type: 'stop' });
  const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
  await once(p, 'exit');
  clearTimeout(timer);
}

interface System {
  kind: 'nova' | 'baseline';
  server: Awaited<ReturnType<typeof startServer>>;
  clients: ChildProcess[];
  results: Result[];
  rssPerSocket: number;
  sockets: number;
}

async function setUp(kind: 'nova' | 'baseline', sockets: number, clientCount: number): Promise<System> {
  const server = await startServer(kind);
  const clients = Array.from({ length: clientCount }, () => child('client'));
  await Promise.all(clients.map((c) => once(c, 'message')));
  const before = await server.stats();
  const share = Math.ceil(sockets / clientCount);
  const opened = await Promise.all(
    clients.map((c, i) => {
      const count = Math.max(0, Math.min(share, sockets - i * share));
      // Senders live in the first client only; latency is sampled on SAMPLED sockets in all.
      return request<Msg & { open: number }>(
        c,
        { type: 'connect', url: server.url, streamId: server.streamId, count, tokens: i === 0 ? server.tokens : [], idle: false, sampled: Math.ceil(SAMPLED / clientCount) },
        'connected',
      );
    }),
  );
  const after = await server.stats();
  const rssPerSocket = (after.rss - before.rss) / sockets;
  const open = opened.reduce((n, o) => n + o.open, 0);
  console.log(
    `  ${kind}: ${open} sockets open over ${clientCount} client processes, server RSS +${((after.rss - before.rss) / 1048576).toFixed(1)} MB (${(rssPerSocket / 1024).toFixed(1)} KiB/socket)`,
  );
  return { kind, server, clients, results: [], rssPerSocket, sockets };
}

async function tearDown(s: System, force = false): Promise<void> {
  if (force) {
    // A saturated server and its clients may be seconds behind: end them without waiting.
    for (const p of [...s.clients, s.server.proc]) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await once(p, 'exit');
      }
    }
    if (s.server.dataDir) fs.rmSync(s.server.dataDir, { recursive: true, force: true });
    return;
  }
  for (const c of s.clients) {
    await request(c, { type: 'close' }, 'closed').catch(() => {});
    c.kill();
  }
  await stopProc(s.server.proc);
}

interface ClientResult {
  deliveredInWindow: number;
  deliveredTotal: number;
  sentInWindow: number;
  latencies: number[];
  open: number;
  receivers: number;
  cpuPercent: number;
  loopP99Ms: number;
}

async function load(s: System, rate: number, seconds: number): Promise<Result> {
  const cpu0 = (await s.server.stats()).cpu;
  const t0 = performance.now();
  const startAt = clock() + 300;
  const parts = await Promise.all(s.clients.map((c) => request<Msg & ClientResult>(c, { type: 'load', rate, startAt, warmupMs: 2000, durationMs: seconds * 1000 }, 'result')));
  const after = await s.server.stats();
  const cpu = after.cpu;
  const serverCpuUs = cpu.user - cpu0.user + cpu.system - cpu0.system;
  const serverCpu = (serverCpuUs / 1000 / (performance.now() - t0)) * 100;
  const sentInWindow = parts[0].sentInWindow;
  const sampledSockets = s.clients.length * Math.ceil(SAMPLED / s.clients.length);
  const latencies = parts.flatMap((p) => p.latencies).sort((x, y) => x - y);
  const receivers = parts.reduce((n, p) => n + p.receivers, 0);
  const deliveredTotal = parts.reduce((n, p) => n + p.deliveredTotal, 0);
  const clientCpuPercent = Math.max(...parts.map((p) => p.cpuPercent));
  const clientLoopP99Ms = Math.max(...parts.map((p) => p.loopP99Ms));
  const r: Result = {
    rate,
    deliveredPerSecond: parts.reduce((n, p) => n + p.deliveredInWindow, 0) / seconds,
    deliveredTotal,
    serverUsPerDelivery: serverCpuUs / Math.max(1, deliveredTotal),
    offeredDeliveriesPerSecond: (sentInWindow * receivers) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: Math.max(0, sentInWindow * Math.min(sampledSockets, receivers) - latencies.length),
    open: parts.reduce((n, p) => n + p.open, 0),
    clientCpuPercent,
    clientLoopP99Ms,
    discarded: clientLoopP99Ms > CLIENT_MAX_LOOP_P99_MS || clientCpuPercent > CLIENT_MAX_CPU_PERCENT,
  };
  s.results.push(r);
  console.log(
    `  ${s.kind.padEnd(8)} @ ${rate} msg/s: delivered ${Math.round(r.deliveredPerSecond).toLocaleString('en')}/s of ${Math.round(r.offeredDeliveriesPerSecond).toLocaleString('en')}/s offered, ` +
      `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, open ${r.open}/${s.sockets}, server CPU ${serverCpu.toFixed(0)}% (${r.serverUsPerDelivery!.toFixed(2)} µs/delivery), server event-loop delay p99 ${after.loopP99Ms.toFixed(0)} ms / max ${after.loopMaxMs.toFixed(0)} ms, busiest client CPU ${clientCpuPercent.toFixed(0)}% (event-loop delay p99 ${clientLoopP99Ms.toFixed(0)} ms)`,
  );
  if (r.discarded) console.log(`  ${s.kind} @ ${rate} msg/s: a client fell behind (event-loop p99 > ${CLIENT_MAX_LOOP_P99_MS} ms or CPU > ${CLIENT_MAX_CPU_PERCENT}%): run discarded`);
  return r;
}

async function idleRun(kind: 'nova' | 'baseline', count: number): Promise<number> {
  const server = await startServer(kind);
  const client = child('client');
  await once(client, 'message');
  try {
    const before = await server.stats();
    const c = await request<Msg & { open: number }>(client, { type: 'connect', url: server.url, streamId: server.streamId, count, tokens: [], idle: true, sampled: 0 }, 'connected');
    await new Promise((r) => setTimeout(r, 2000));
    const after = await server.stats();
    const added = (after.rss - before.rss) / 1048576;
    console.log(`  ${kind}: ${c.open} idle sockets, server RSS +${added.toFixed(1)} MB (${((added * 1024) / count).toFixed(1)} KiB/socket)`);
    await request(client, { type: 'close' }, 'closed');
    return added;
  } finally {
    client.kill();
    await stopProc(server.proc);
  }
}

/** The highest delivery rate reached with p99 within the bound and (almost) nothing lost. */
function best(results: Result[], p99Bound: number): Result | undefined {
  return results
    .filter((r) => !r.discarded && r.p99 <= p99Bound && r.lost === 0 && r.deliveredPerSecond >= 0.95 * r.offeredDeliveriesPerSecond)
    .sort((a, b) => b.deliveredPerSecond - a.deliveredPerSecond)[0];
}

async function main(): Promise<void> {
  const sockets = Number(arg('sockets', '2000'));
  const rates = arg('rates', '25,50,75,100,150,200').split(',').map(Number);
  const seconds = Number(arg('seconds', '8'));
  const idle = Number(arg('idle', '10000'));
  let fdLimit = Infinity;
  try {
    const { execSync } = await import('node:child_process');
    fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
  } catch {
    // Unknown limit: try anyway.
  }
  if (idle + 100 > fdLimit) console.log(`! ulimit -n is ${fdLimit}: the idle run needs ${idle + 100} descriptors per process; raise it or pass --idle`);
  const clientCount = Number(arg('clients', '2'));
  const bench = startBench('chat', { a: 'nova', b: 'baseline' });
  console.log(
    `chat fan-out: ${sockets} sockets on one stream over ${clientCount} client processes, ${arg('senders', '10')} senders, offered ${rates.join('/')} msg/s, ${seconds} s each (cores: ${os.cpus().length})`,
  );

  // Both systems stay connected and take turns at each rate, so drifting load from other work on
  // the machine affects them alike.
  const systems = arg('systems', 'baseline,nova').split(',') as Array<'baseline' | 'nova'>;
  const all: System[] = [];
  for (const kind of systems) all.push(await setUp(kind, sockets, clientCount));
  const base = all.find((s) => s.kind === 'baseline');
  const nova = all.find((s) => s.kind === 'nova');
  const active = new Set(all);
  try {
    for (const [i, rate] of rates.entries()) {
      // ABBA: Nova first at even rates (baseline first with --swap), the other way round at odd ones.
      const novaFirst = (i % 2 === 0) !== bench.swap;
      const first = novaFirst ? 'nova' : 'baseline';
      for (const s of [...all].sort((x, y) => (x.kind === first ? 0 : 1) - (y.kind === first ? 0 : 1))) {
        if (!active.has(s)) continue;
        const r = await load(s, rate, seconds);
        // A saturated system is not loaded further, and is stopped at once: the backlog it still
        // holds would otherwise keep the machine busy during the other system's turn.
        if (!r.discarded && (r.deliveredPerSecond < 0.95 * r.offeredDeliveriesPerSecond || r.lost > 0 || r.open < sockets)) {
          console.log(`  ${s.kind} saturated at ${rate} msg/s: stopped`);
          active.delete(s);
          await tearDown(s, true);
        }
      }
    }
  } finally {
    for (const s of active) await tearDown(s);
  }
  if (!base || !nova) return;
  console.log(`idle sockets: ${idle}`);
  const idleFirst = bench.swap ? 'baseline' : 'nova';
  const idleA = await idleRun(idleFirst, idle);
  const idleB = await idleRun(idleFirst === 'nova' ? 'baseline' : 'nova', idle);
  const [idleNova, idleBase] = idleFirst === 'nova' ? [idleA, idleB] : [idleB, idleA];

  const bNova = best(nova.results, 100);
  const bBase = best(base.results, 100);
  const fmt = (r?: Result) => (r ? `${Math.round(r.deliveredPerSecond).toLocaleString('en')}/s (at ${r.rate} msg/s)` : 'none');
  console.log('\nsummary');
  console.log(`  best delivered/s with p99 <= 100 ms and nothing lost: nova ${fmt(bNova)}, baseline ${fmt(bBase)}`);
  if (bNova && bBase) console.log(`  ratio nova/baseline: ${(bNova.deliveredPerSecond / bBase.deliveredPerSecond).toFixed(2)}x (target >= 2x)`);
  for (const n of nova.results) {
    const b = base.results.find((x) => x.rate === n.rate);
    console.log(
      `  @ ${n.rate} msg/s: nova ${Math.round(n.deliveredPerSecond).toLocaleString('en')}/s p99 ${n.p99.toFixed(1)} ms (${n.serverUsPerDelivery?.toFixed(2)} µs CPU/delivery)` +
        (b
          ? ` vs baseline ${Math.round(b.deliveredPerSecond).toLocaleString('en')}/s p99 ${b.p99.toFixed(1)} ms (${b.serverUsPerDelivery?.toFixed(2)} µs): ${(n.deliveredPerSecond / b.deliveredPerSecond).toFixed(2)}x`
          : ' (baseline saturated below this rate)'),
    );
  }
  console.log(`  RSS per active socket: nova ${(nova.rssPerSocket / 1024).toFixed(1)} KiB, baseline ${(base.rssPerSocket / 1024).toFixed(1)} KiB`);
  console.log(`  ${idle} idle sockets: nova +${idleNova.toFixed(1)} MB, baseline +${idleBase.toFixed(1)} MB`);
  const discarded = [...nova.results, ...base.results].filter((r) => r.discarded).length;
  if (discarded) console.log(`  ${discarded} run(s) discarded because a client fell behind; they count for neither side`);
  bench.target('nova/baseline deliveries/s at p99 <= 100 ms', bNova && bBase ? bNova.deliveredPerSecond / bBase.deliveredPerSecond : NaN, '>=', 2);
  bench.target(`nova RSS MB for ${idle} idle sockets`, idleNova, '<=', 200, 1);
  bench.finish();
}

const role = process.argv[2];
if (role === 'nova') await novaServer();
else if (role === 'baseline') await baselineServer();
else if (role === 'client') await clientProcess();
else await main();
