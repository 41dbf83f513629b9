// Upload throughput: a 1 GiB file sent with tus-js-client to Nova (`nova serve`, a child process)
// vs. a plain HTTP PUT streamed to disk by a bare Node server, in the same run, alternating rounds.
// Rounds alternate in ABBA order with a sync and a pause before each side (bench/lib/harness.ts).
// Prints each throughput and CPU per GiB (server and client apart), the ratio (target ≥ 0.9) and
// Nova's RSS growth while uploading (target < 100 MB: uploads stream, nothing holds a whole file).
// Usage: npm run bench:upload [-- --mib N --rounds N --swap]
// --cpu-prof DIR writes a V8 CPU profile of each server into DIR (for the client, run this file with
// `node --cpu-prof --import tsx`).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { NovaClient } from '../src/client/nova-client.js';
import { createVideo, uploadFile } from '../src/client/videos.client.js';
import { arg, cpuSeconds, fmt, numArg, ratioSpread, spread, startBench } from './lib/harness.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** The baseline: PUT bodies piped straight into a file, nothing else. */
async function baselineServer(dir: string): Promise<void> {
  const server = http.createServer(async (req, res) => {
    if (req.method !== 'PUT') return void res.writeHead(405).end();
    const file = path.join(dir, `put-${Date.now()}`);
    try {
      await pipeline(req, fs.createWriteStream(file));
      res.writeHead(204).end();
    } catch {
      res.writeHead(500).end();
    }
  });
  server.requestTimeout = 0;
  // A normal exit, so that --cpu-prof writes its profile.
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

interface Child {
  proc: ChildProcess;
  url: string;
}

function startChild(args: string[], env: Record<string, string>, match: (e: Record<string, unknown>) => string | undefined): Promise<Child> {
  return new Promise((resolve, reject) => {
    const profDir = arg('cpu-prof', '');
    const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const proc = spawn(process.execPath, [...prof, '--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 60_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const url = match(JSON.parse(line));
        if (url) {
          clearTimeout(timer);
          resolve({ proc, url });
        }
      } catch {
        // not a JSON line
      }
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every 50 ms while fn runs; returns fn's seconds and the peak RSS. */
async function measured(pid: number, fn: () => Promise<void>): Promise<{ seconds: number; peakRss: number }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
  const t0 = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, peakRss: Math.max(peak, rssBytes(pid)) };
}

function putFile(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': fs.statSync(file).size, 'content-type': 'application/octet-stream' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

function emptyDir(dir: string): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.argv[2] === 'baseline-server') return baselineServer(process.argv[3]);
  const mib = numArg('mib', 1024);
  const bench = startBench('upload', { a: 'tus', b: 'PUT' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-upload-'));
  const source = path.join(work, 'source.bin');
  const baseDir = path.join(work, 'baseline');
  const novaDir = path.join(work, 'nova');
  fs.mkdirSync(baseDir);
  fs.mkdirSync(novaDir);
  const children: ChildProcess[] = [];
  try {
    console.log(`writing a ${mib} MiB file…`);
    const out = fs.openSync(source, 'w');
    const block = randomBytes(16 * 1024 * 1024);
    for (let left = mib * 1024 * 1024; left > 0; left -= block.length) fs.writeSync(out, block, 0, Math.min(block.length, left));
    fs.closeSync(out);
    const size = fs.statSync(source).size;

    const nova = await startChild(
      ['src/cli.ts', 'serve', '--no-worker'],
      { DATA_DIR: novaDir, PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', LOG_LEVEL: 'info', UPLOAD_MAX_BYTES: String(size * 2) },
      (e) => (e.msg === 'nova serve started' ? String(e.url) : undefined),
    );
    children.push(nova.proc);
    const base = await startChild(['bench/upload.bench.ts', 'baseline-server', baseDir], {}, (e) => (typeof e.url === 'string' ? e.url : undefined));
    children.push(base.proc);
    const client = (await new NovaClient(nova.url).newUser('bench')).client;

    // Warm-up (JIT, connections, first-file costs) with a small upload on each side.
    const warm = path.join(work, 'warm.bin');
    fs.writeFileSync(warm, randomBytes(8 * 1024 * 1024));
    await uploadFile(client, (await createVideo(client, { title: 'warm-up' })).body.upload.url, warm);
    await putFile(base.url, warm);
    const rssBefore = rssBytes(nova.proc.pid!);

    const novaPid = nova.proc.pid!;
    const basePid = base.proc.pid!;
    let peakRss = rssBefore;
    const side = async (run: () => Promise<{ seconds: number; peakRss: number }>, pid: number) => {
      const server0 = cpuSeconds(pid);
      const client0 = cpuSeconds();
      const m = await run();
      const server = cpuSeconds(pid) - server0;
      const client = cpuSeconds() - client0;
      return { rate: size / m.seconds, cpu: server + client, server, client, peakRss: m.peakRss };
    };
    const clean = () => {
      emptyDir(baseDir);
      fs.rmSync(path.join(novaDir, 'uploads'), { recursive: true, force: true });
      fs.rmSync(path.join(novaDir, 'objects', 'videos'), { recursive: true, force: true });
    };
    // Each side writes a whole file to the same disk: sync and a pause before every side, so neither
    // pays for the other's dirty pages still being flushed.
    const { a: tus, b: put } = await bench.alternate(
      {
        a: async (r) => {
          const v = await createVideo(client, { title: `bench ${r}` });
          const res = await side(() => measured(novaPid, () => uploadFile(client, v.body.upload.url, source).then(() => undefined)), novaPid);
          peakRss = Math.max(peakRss, res.peakRss);
          console.log(`round ${r + 1}: tus ${(res.rate / 1e6).toFixed(0)} MB/s, ${res.cpu.toFixed(2)} CPU s (server ${res.server.toFixed(2)}, client ${res.client.toFixed(2)})`);
          clean();
          return res;
        },
        b: async (r) => {
          const res = await side(() => measured(basePid, () => putFile(base.url, source)), basePid);
          console.log(`round ${r + 1}: PUT ${(res.rate / 1e6).toFixed(0)} MB/s, ${res.cpu.toFixed(2)} CPU s (server ${res.server.toFixed(2)}, client ${res.client.toFixed(2)})`);
          clean();
          return res;
        },
      },
      { settle: { sync: true, ms: 3000 } },
    );
    const tusRate = spread(tus.map((x) => x.rate / 1e6));
    const putRate = spread(put.map((x) => x.rate / 1e6));
    const ratio = ratioSpread(
      tus.map((x) => x.rate),
      put.map((x) => x.rate),
    );
    const gib = size / 2 ** 30;
    const growth = peakRss - rssBefore;
    console.log('');
    console.log(`file: ${mib} MiB, ${bench.rounds} rounds each, median (min–max)`);
    console.log(`  Nova tus (tus-js-client, one PATCH):  ${fmt(tusRate, 0, ' MB/s')}, CPU ${fmt(spread(tus.map((x) => x.cpu / gib)), 2, ' s/GiB')} (server + client)`);
    console.log(`  plain HTTP PUT streamed to disk:      ${fmt(putRate, 0, ' MB/s')}, CPU ${fmt(spread(put.map((x) => x.cpu / gib)), 2, ' s/GiB')} (server + client)`);
    const perGib = (xs: { server: number; client: number }[]) => `server ${fmt(spread(xs.map((x) => x.server / gib)), 2)}, client ${fmt(spread(xs.map((x) => x.client / gib)), 2)}`;
    console.log(`  CPU s/GiB, tus: ${perGib(tus)}`);
    console.log(`  CPU s/GiB, PUT: ${perGib(put)}`);
    console.log(`  ratio tus / PUT per round:            ${fmt(ratio)}`);
    console.log(`  Nova RSS: ${(rssBefore / 1e6).toFixed(0)} MB before, ${(peakRss / 1e6).toFixed(0)} MB peak`);
    bench.target('tus/PUT throughput', ratio.median, '>=', 0.9);
    bench.target('Nova RSS growth MB', growth / 1e6, '<', 100, 0);
    bench.finish();
  } finally {
    for (const c of children) c.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => undefined,
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
