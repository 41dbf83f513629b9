// Web app serving benchmark: Nova's web capability (Fastify, SPA fallback, CSP, hashed-asset
// caching) against a bare node:http static server doing the same job, same bundle, same run.
// Each server runs in its own process; autocannon (a third process) loads one page path (answered
// with index.html) and the main script asset. Also prints what a first visit downloads (gzip).
// Rounds alternate in ABBA order (bench/lib/harness.ts); target: Nova ≥ 0.5× the bare server.
// Usage: npm run bench:web [-- --seconds=8 --connections=50 --rounds=4 --swap]
import { execFile, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { arg, cpuSeconds, fmt, ratioSpread, spread, startBench } from './lib/harness.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');

// ---- servers (child processes) --------------------------------------------------------------

async function novaServer(webDir: string): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/infra/logger.js');
  const { startNova } = await import('../src/server.js');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-web-bench-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, WEB_DIR: webDir });
  const nova = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  process.send?.({ type: 'ready', url: nova.url });
  process.on('message', async () => {
    await nova.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** The baseline: what a hand-written static server does for an SPA, and nothing more. */
function plainServer(webDir: string): void {
  const indexBody = fs.readFileSync(path.join(webDir, 'index.html'));
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url.startsWith('/assets/') && !url.includes('..')) {
      const file = path.join(webDir, url);
      fs.stat(file, (err, st) => {
        if (err) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css', 'content-length': st.size, 'cache-control': 'public, max-age=31536000, immutable' });
        fs.createReadStream(file).pipe(res);
      });
      return;
    }
    // From memory, as Nova does: the best a bare server can do for the page itself.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': indexBody.length, 'cache-control': 'no-cache' });
    res.end(indexBody);
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address() as { port: number };
    process.send?.({ type: 'ready', url: `http://127.0.0.1:${addr.port}` });
  });
  process.on('message', () => server.close(() => process.exit(0)));
}

// ---- orchestrator -----------------------------------------------------------------------------

function start(role: string, webDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(SELF, [role, webDir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

async function load(url: string, seconds: number, connections: number, accept: string): Promise<Result> {
  const bin = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '-j', '-c', String(connections), '-d', String(seconds), '-H', `accept=${accept}`, url], { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

function firstVisitBytes(webDir: string): { raw: number; gzip: number; files: string[] } {
  const html = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
  const files = ['index.html', ...[...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1])];
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const body = fs.readFileSync(path.join(webDir, f));
    raw += body.length;
    gzip += zlib.gzipSync(body, { level: 6 }).length;
  }
  return { raw, gzip, files };
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '8'));
  const connections = Number(arg('connections', '50'));
  const bench = startBench('web', { a: 'nova', b: 'node:http' });
  const webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-web-bench-app-'));
  const { build } = await import('vite');
  await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'error', build: { outDir: webDir, emptyOutDir: true, sourcemap: false } });
  // The entry script is the one index.html loads (its hashed name comes from the build).
  const entry = /<script[^>]*type="module"[^>]*src="\/assets\/([^"]+\.js)"/.exec(fs.readFileSync(path.join(webDir, 'index.html'), 'utf8'));
  if (!entry) throw new Error('index.html loads no module script from /assets/');
  const mainJs = entry[1];

  const visit = firstVisitBytes(webDir);
  console.log(`first visit (Discover): ${visit.files.length} files, ${(visit.raw / 1024).toFixed(1)} KiB, ${(visit.gzip / 1024).toFixed(1)} KiB gzip`);
  for (const f of fs.readdirSync(path.join(webDir, 'assets')).filter((x) => x.endsWith('.js'))) {
    const b = fs.readFileSync(path.join(webDir, 'assets', f));
    console.log(`  chunk ${f.replace(/-[\w-]{8}\.js$/, '.js')}: ${(b.length / 1024).toFixed(1)} KiB, ${(zlib.gzipSync(b).length / 1024).toFixed(1)} KiB gzip`);
  }

  const cases: Array<[string, string, string]> = [
    ['page path → index.html', '/watch/0193e0c4-0000-7000-8000-000000000000', 'text/html'],
    ['hashed main script', `/assets/${mainJs}`, '*/*'],
  ];
  const nova = await start('nova', webDir);
  const plain = await start('plain', webDir);
  try {
    console.log(`\n${connections} connections, ${seconds} s per run, ${bench.rounds} alternating rounds; req/s median (min–max), latency ms`);
    const measure = async (server: { child: ChildProcess; url: string }, p: string, accept: string) => {
      const cpu0 = cpuSeconds(server.child.pid!);
      const r = await load(`${server.url}${p}`, seconds, connections, accept);
      return { ...r, cpuUs: ((cpuSeconds(server.child.pid!) - cpu0) / Math.max(1, r.rps * seconds)) * 1e6 };
    };
    for (const [name, p, accept] of cases) {
      const { a: ours, b: base } = await bench.alternate({ a: () => measure(nova, p, accept), b: () => measure(plain, p, accept) });
      const ratio = ratioSpread(
        ours.map((r) => r.rps),
        base.map((r) => r.rps),
      );
      const errors = [...base, ...ours].reduce((n, r) => n + r.errors, 0);
      const show = (rs: Array<Result & { cpuUs: number }>) =>
        `${fmt(spread(rs.map((r) => r.rps)), 0)} (p50 ${spread(rs.map((r) => r.p50)).median} / p99 ${spread(rs.map((r) => r.p99)).median}) CPU ${fmt(spread(rs.map((r) => r.cpuUs)), 0, ' µs/req')}`;
      console.log(`${name}\n  baseline ${show(base)}\n  nova     ${show(ours)}\n  nova/baseline per round ${fmt(ratio)}${errors ? `   errors ${errors}` : ''}`);
      // A run with failed or non-2xx responses measured something else: no verdict can come from it.
      if (errors) console.log(`  ${name}: ${errors} failed or non-2xx responses, so this figure is invalid`);
      bench.target(`${name} nova/baseline req/s`, errors ? NaN : ratio.median, '>=', 0.5);
    }
    bench.finish();
  } finally {
    nova.child.send({ type: 'stop' });
    plain.child.send({ type: 'stop' });
    await Promise.all([nova.child, plain.child].map((c) => new Promise((r) => c.once('exit', r))));
    fs.rmSync(webDir, { recursive: true, force: true });
  }
}

const [role, dir] = process.argv.slice(2);
if (role === 'nova') void novaServer(dir);
else if (role === 'plain') plainServer(dir);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
