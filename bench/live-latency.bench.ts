// Live latency, glass-to-glass: the frame number each encoded frame carries (as on/off boxes) is
// read back from hls.js playback in Chromium, through Nova (RTMP ingest → live ladder → storage →
// HTTP) and, as the baseline in alternating rounds, through one ffmpeg that receives the same RTMP
// publish and writes the same three-rung ladder as HLS to disk behind a static HTTP server. Both
// playlists are polled at the same interval; when a segment is listed is a secondary figure.
// Usage: npm run bench:live-latency [-- --seconds 30 --size 1280x720 --preset veryfast --poll 100 --rounds 2 --swap --no-browser]
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/infra/logger.js';
import { startNova } from '../src/server.js';
import { NovaClient } from '../src/client/nova-client.js';
import { createStream } from '../src/client/live.client.js';
import { fmt as fmtSpread, spread, startBench } from './lib/harness.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '30'));
const [W, H] = arg('size', '1280x720').split('x').map(Number);
const PRESET = arg('preset', '');
const SEGMENT = Number(arg('segment', '2'));
const FPS = 30;
const BITS = 12;
const POLL_MS = Number(arg('poll', '100'));
const BROWSER = !argv.includes('--no-browser') && fs.existsSync(arg('chromium', '/usr/bin/chromium'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The encoder: a real-time test pattern (x264 zerolatency, 2 s GOP like OBS defaults) whose frames
 * carry their frame number as BITS white boxes, reporting its output clock on stdout.
 */
function encoder(outputArgs: string[]): { child: ChildProcess; t0: () => number; exited: Promise<void> } {
  const boxes = Array.from({ length: BITS }, (_, i) => {
    const x = Math.round(((8 + i * 52) / 640) * W);
    const s = Math.round((48 / 640) * W);
    return `drawbox=x=${x}:y=${Math.round((8 / 640) * W)}:w=${s}:h=${s}:color=white:t=fill:enable='mod(floor(n/${2 ** i}),2)'`;
  });
  const vf = [`drawbox=x=0:y=0:w=iw:h=${Math.round((64 / 640) * W)}:color=black:t=fill`, ...boxes].join(',');
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-progress',
    'pipe:1',
    '-stats_period',
    '0.1',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${W}x${H}:rate=${FPS}`,
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(SECONDS),
    '-vf',
    vf,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(FPS * SEGMENT),
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    '3000k',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    ...outputArgs,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  // Wall-clock time at which media time 0 left the encoder: the least-delayed progress report wins.
  let t0 = Number.POSITIVE_INFINITY;
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    const now = Date.now();
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^out_time_us=(\d+)/.exec(l);
      if (m && Number(m[1]) > 0) t0 = Math.min(t0, now - Number(m[1]) / 1000);
    }
  });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return { child, t0: () => t0, exited };
}

interface Result {
  first: number[];
  last: number[];
  glass: number[];
}

interface Listing {
  seq: number;
  start: number;
  end: number;
  seenAt: number;
}

/** Polls a media playlist and records when each segment first appears, with its media time range. */
function watchPlaylist(read: () => Promise<string | null>, everyMs: number): { stop: () => Promise<Listing[]> } {
  const seen = new Map<number, Listing>();
  const durations = new Map<number, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const text = await read().catch(() => null);
      const now = Date.now();
      if (text) {
        let seq = 0;
        let dur = 0;
        for (const line of text.split('\n')) {
          if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) seq = Number(line.slice(22));
          else if (line.startsWith('#EXTINF:')) dur = parseFloat(line.slice(8));
          else if (line && !line.startsWith('#')) {
            durations.set(seq, dur);
            if (!seen.has(seq)) seen.set(seq, { seq, start: 0, end: 0, seenAt: now });
            seq++;
          }
        }
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // Media time of each segment: the sum of the durations before it (sequence numbers start at 0).
      let t = 0;
      const out: Listing[] = [];
      for (const s of [...seen.keys()].sort((a, b) => a - b)) {
        const d = durations.get(s) ?? SEGMENT;
        out.push({ ...seen.get(s)!, start: t, end: t + d });
        t += d;
      }
      return out;
    },
  };
}

function stats(xs: number[]): { n: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { n: s.length, median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
}

/** Seconds from a segment's first and last frame being sent to the segment being listed. */
function latencies(listings: Listing[], t0: number): { first: number[]; last: number[] } {
  // The first segment includes start-up (process launch, handshake); steady state is what viewers see.
  const steady = listings.slice(1);
  return {
    first: steady.map((l) => (l.seenAt - (t0 + l.start * 1000)) / 1000),
    last: steady.map((l) => (l.seenAt - (t0 + l.end * 1000)) / 1000),
  };
}

/** A free TCP port on loopback, for the baseline's RTMP listener. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Serves a directory over HTTP, as any static web server would serve an HLS folder. */
async function staticServer(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    // The browser opens a page of this origin first (as it does on Nova), so hls.js fetches same-origin.
    if (rel === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    const file = path.join(dir, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
    fs.readFile(file, (err, data) => {
      if (err) return void res.writeHead(404).end();
      const type = file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', 'access-control-allow-origin': '*' }).end(data);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

/**
 * The baseline: what an engineer would run without Nova — one ffmpeg listening for the RTMP
 * publish (its own RTMP server), decoding once and encoding the same three-rung ladder (720p 2500,
 * 480p 1200, 360p 600 kb/s, same live preset and segment length) to HLS on local disk, served by a
 * bare static HTTP server. Polled and played exactly as Nova is.
 */
async function baseline(): Promise<Result> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nova-bench-hls-'));
  const web = await staticServer(dir);
  try {
    const port = await freePort();
    const rungs = [
      { name: '720p', h: 720, kbps: 2500 },
      { name: '480p', h: 480, kbps: 1200 },
      { name: '360p', h: 360, kbps: 600 },
    ].filter((r) => r.h <= Math.min(W, H));
    const n = rungs.length;
    const filter = `[0:v:0]split=${n}${rungs.map((_, i) => `[s${i}]`).join('')};` + rungs.map((r, i) => `[s${i}]scale=-2:${r.h},format=yuv420p[v${i}]`).join(';');
    const maps = rungs.flatMap((r, i) => ['-map', `[v${i}]`, '-map', '0:a:0', `-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps * 2}k`]);
    for (const r of rungs) fs.mkdirSync(path.join(dir, r.name));
    const transcoder = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-listen',
        '1',
        '-f',
        'flv',
        '-i',
        `rtmp://127.0.0.1:${port}/live/bench`,
        '-filter_complex',
        filter,
        ...maps,
        '-c:v',
        'libx264',
        '-preset',
        PRESET || 'superfast',
        '-tune',
        'zerolatency',
        '-sc_threshold',
        '0',
        '-force_key_frames',
        `expr:gte(t,n_forced*${SEGMENT})`,
        '-c:a',
        'aac',
        '-b:a',
        '128k',
        '-ac',
        '2',
        '-ar',
        '48000',
        '-f',
        'hls',
        '-hls_time',
        String(SEGMENT),
        '-hls_list_size',
        '6',
        '-hls_flags',
        'delete_segments+independent_segments+temp_file',
        '-master_pl_name',
        'master.m3u8',
        '-hls_segment_filename',
        `${dir}/%v/seg_%05d.ts`,
        '-var_stream_map',
        rungs.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(' '),
        `${dir}/%v/index.m3u8`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const transcoded = new Promise<void>((r) => transcoder.on('close', () => r()));
    await sleep(1000); // the listener is up well within this; the encoder retries nothing, so wait
    const top = `${web.url}/${rungs[0].name}/index.m3u8`;
    const watch = watchPlaylist(async () => {
      const r = await fetch(top);
      return r.ok ? r.text() : null;
    }, POLL_MS);
    const enc = encoder(['-f', 'flv', `rtmp://127.0.0.1:${port}/live/bench`]);
    const glass = await watchInBrowser(`${web.url}/master.m3u8`, enc.t0);
    await enc.exited;
    await transcoded;
    return { ...latencies(await watch.stop(), enc.t0()), glass };
  } finally {
    await web.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Glass-to-glass in Chromium once the master playlist answers, until the encoder is done. */
async function watchInBrowser(masterUrl: string, t0: () => number): Promise<number[]> {
  if (!BROWSER) return [];
  const deadline = Date.now() + 20_000;
  while (
    Date.now() < deadline &&
    (await fetch(masterUrl).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  )
    await sleep(200);
  const left = SECONDS * 1000 - (Date.now() - (Number.isFinite(t0()) ? t0() : Date.now())) - 2000;
  return glassToGlass(masterUrl, t0, Math.max(5000, left)).catch((err) => {
    console.log(`(browser measurement skipped: ${(err as Error).message.split('\n')[0]})`);
    return [];
  });
}

async function glassToGlass(masterUrl: string, t0: () => number, durationMs: number): Promise<number[]> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: arg('chromium', '/usr/bin/chromium'), args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.goto(new URL('/healthz', masterUrl).toString());
    await page.setContent('<video id="v" muted autoplay playsinline></video><canvas id="c" width="320" height="180"></canvas>');
    const require = createRequire(import.meta.url);
    await page.addScriptTag({ path: require.resolve('hls.js/dist/hls.min.js') });
    // Passed as source text: the page must receive plain JavaScript, not transpiled helpers.
    await page.evaluate(`(() => {
      window.samples = [];
      const video = document.getElementById('v');
      const canvas = document.getElementById('c');
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      // Standard HLS, started one segment behind the live edge (hls.js defaults to three).
      const hls = new Hls({ liveSyncDurationCount: 1 });
      hls.loadSource(${JSON.stringify(masterUrl)});
      hls.attachMedia(video);
      video.play().catch(() => {});
      const onFrame = () => {
        const at = Date.now();
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        let frame = 0;
        for (let i = 0; i < ${BITS}; i++) {
          const x = Math.round(((8 + i * 52 + 24) / 640) * canvas.width);
          const y = Math.round(((8 + 24) / 640) * canvas.width);
          if (ctx.getImageData(x, y, 1, 1).data[0] > 128) frame |= 1 << i;
        }
        window.samples.push({ at, frame });
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    })()`);
    await sleep(durationMs);
    const samples = (await page.evaluate('window.samples')) as Array<{ at: number; frame: number }>;
    // Skip the first seconds of playback (start-up buffering), then one sample per second.
    const out: number[] = [];
    let next = 0;
    for (const s of samples) {
      if (s.frame < FPS * 4 || s.at < next) continue;
      out.push((s.at - (t0() + (s.frame / FPS) * 1000)) / 1000);
      next = s.at + 1000;
    }
    return out;
  } finally {
    await browser.close();
  }
}

async function nova(): Promise<Result> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nova-bench-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RTMP_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(PRESET ? { LIVE_FFMPEG_PRESET: PRESET } : {}),
    LIVE_SEGMENT_SECONDS: String(SEGMENT),
    LIVE_RECORD: 'false',
  });
  const running = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  try {
    const client = await new NovaClient(running.url!).newUser('bench');
    const { stream_key, rtmp_url, playback_url } = (await createStream(client.client, 'latency')).body;
    const top = `${playback_url.replace(/master\.m3u8$/, '')}${Math.min(W, H)}p/index.m3u8`;
    const watch = watchPlaylist(async () => {
      const r = await fetch(top);
      return r.ok ? r.text() : null;
    }, POLL_MS);
    const enc = encoder(['-f', 'flv', `${rtmp_url}/${stream_key}`]);
    const glass = await watchInBrowser(playback_url, enc.t0);
    await enc.exited;
    return { ...latencies(await watch.stop(), enc.t0()), glass };
  } finally {
    await running.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

const show = (xs: number[]) => {
  if (xs.length === 0) return 'no samples';
  const s = stats(xs);
  return `median ${s.median.toFixed(2)} s  p90 ${s.p90.toFixed(2)} s  max ${s.max.toFixed(2)} s  (n=${s.n})`;
};

const bench = startBench('live-latency', { a: 'Nova', b: 'baseline ffmpeg ladder' }, { rounds: 2 });
console.log(
  `live latency: ${W}x${H}@${FPS} for ${SECONDS}s, ${SEGMENT}s segments, live preset ${PRESET || 'default (superfast)'}, playlists polled every ${POLL_MS} ms, browser ${BROWSER ? 'on' : 'off'}`,
);
const { a: runs, b: bases } = await bench.alternate({ a: () => nova(), b: () => baseline() });
const all = (rs: Result[], k: keyof Result) => rs.flatMap((r) => r[k]);
const nGlass = all(runs, 'glass');
const bGlass = all(bases, 'glass');
console.log('\nglass-to-glass in Chromium + hls.js (liveSyncDurationCount 1), one sample per second, all rounds');
console.log(`  Nova (RTMP → ladder → storage → HTTP): ${show(nGlass)}`);
console.log(`  baseline (ffmpeg ladder → disk → HTTP): ${show(bGlass)}`);
console.log("secondary: send of a segment's FIRST frame → segment listed in the 720p playlist");
console.log(`  Nova:     ${show(all(runs, 'first'))}`);
console.log(`  baseline: ${show(all(bases, 'first'))}`);
console.log("secondary: send of a segment's LAST frame → segment listed");
console.log(`  Nova:     ${show(all(runs, 'last'))}`);
console.log(`  baseline: ${show(all(bases, 'last'))}`);
const perRound = runs.map((r, i) => stats(r.glass).median / stats(bases[i].glass).median);
if (nGlass.length && bGlass.length) console.log(`Nova/baseline glass-to-glass median per round: ${fmtSpread(spread(perRound))}`);
bench.target('glass-to-glass p90 s', nGlass.length ? stats(nGlass).p90 : NaN, '<=', 5);
bench.finish();
