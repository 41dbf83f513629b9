// Live latency: how long after a frame is sent by the encoder the segment holding it is listed in
// the live playlist, through Nova (RTMP ingest → live ladder → storage → HTTP) and, as the baseline
// in the same run, through plain `ffmpeg -f hls` writing the same input to local disk. With
// Chromium present it also measures glass-to-glass: the frame number each frame carries (as
// on/off boxes) is read back from hls.js playback in the browser.
// Usage: npm run bench:live-latency [-- --seconds 30 --size 1280x720 --preset veryfast --no-browser]
import { spawn, type ChildProcess } from 'node:child_process';
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
    '-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '0.1',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(SECONDS), '-vf', vf,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS * SEGMENT), '-pix_fmt', 'yuv420p', '-b:v', '3000k',
    '-c:a', 'aac', '-b:a', '128k',
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

async function baseline(): Promise<{ first: number[]; last: number[] }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nova-bench-hls-'));
  try {
    const playlist = path.join(dir, 'index.m3u8');
    const watch = watchPlaylist(() => fsp.readFile(playlist, 'utf8'), 50);
    const enc = encoder(['-f', 'hls', '-hls_time', String(SEGMENT), '-hls_list_size', '6', '-hls_flags', 'delete_segments+independent_segments+temp_file', playlist]);
    await enc.exited;
    return latencies(await watch.stop(), enc.t0());
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
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

async function nova(): Promise<{ first: number[]; last: number[]; glass: number[] }> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nova-bench-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(PRESET ? { LIVE_FFMPEG_PRESET: PRESET } : {}), LIVE_SEGMENT_SECONDS: String(SEGMENT), LIVE_RECORD: 'false' });
  const running = await startNova(config, { api: true, worker: false }, createLogger('silent'));
  try {
    const client = await new NovaClient(running.url!).newUser('bench');
    const { stream, stream_key, rtmp_url, playback_url } = (await createStream(client.client, 'latency')).body;
    const top = `${playback_url.replace(/master\.m3u8$/, '')}${Math.min(W, H)}p/index.m3u8`;
    const watch = watchPlaylist(async () => {
      const r = await fetch(top);
      return r.ok ? r.text() : null;
    }, 100);
    const enc = encoder(['-f', 'flv', `${rtmp_url}/${stream_key}`]);
    let glass: number[] = [];
    if (BROWSER) {
      // Wait for the stream to be playable, then watch it in Chromium until the encoder stops.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await fetch(playback_url)).status !== 200) await sleep(200);
      glass = await glassToGlass(playback_url, enc.t0, Math.max(5000, SECONDS * 1000 - (Date.now() - (enc.t0() || Date.now())) - 2000)).catch((err) => {
        console.log(`(browser measurement skipped: ${(err as Error).message.split('\n')[0]})`);
        return [];
      });
    }
    await enc.exited;
    void stream;
    return { ...latencies(await watch.stop(), enc.t0()), glass };
  } finally {
    await running.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

const fmt = (s: { n: number; median: number; p90: number; max: number }) => `median ${s.median.toFixed(2)} s  p90 ${s.p90.toFixed(2)} s  max ${s.max.toFixed(2)} s  (n=${s.n})`;

console.log(`live latency: ${W}x${H}@${FPS} for ${SECONDS}s, ${SEGMENT}s segments, Nova live preset ${PRESET || 'default (superfast)'}, ${os.cpus().length} cores`);
const base = await baseline();
const nv = await nova();
const bFirst = stats(base.first);
const nFirst = stats(nv.first);
const bLast = stats(base.last);
const nLast = stats(nv.last);
console.log('\nsend of a segment\'s FIRST frame → segment listed in the playlist (worst case per segment)');
console.log(`  baseline ffmpeg -f hls (local disk): ${fmt(bFirst)}`);
console.log(`  Nova (RTMP → ladder → storage → HTTP): ${fmt(nFirst)}`);
console.log('send of a segment\'s LAST frame → segment listed (what Nova adds after the frame exists)');
console.log(`  baseline: ${fmt(bLast)}`);
console.log(`  Nova:     ${fmt(nLast)}`);
console.log(`\nNova − baseline (median, first frame): ${(nFirst.median - bFirst.median).toFixed(2)} s; ratio Nova/baseline: ${(nFirst.median / bFirst.median).toFixed(2)}×`);
if (nv.glass.length) console.log(`glass-to-glass in Chromium + hls.js (liveSyncDurationCount 1): ${fmt(stats(nv.glass))}`);
console.log(`target ≤ 5 s: ${nFirst.p90 <= 5 ? 'met' : 'NOT met'} (p90 first frame → listed)`);
