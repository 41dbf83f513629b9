// Transcode benchmark: Nova's one-decode ladder (one ffmpeg: decode once, split, scale, encode every
// rung, audio once) against one ffmpeg per rendition run one after another, as PeerTube does, on the
// same 20 s 1080p30 source with audio in the same run. Both sides use the same encoder arguments: the
// baseline's commands are built by the same buildHlsArgs with a one-rung ladder, plus one audio-only
// run. Prints wall time, the ratio, realtime factor, time-to-first-playable vs time-to-ready, and the
// PSNR of each rung against the source for both.
// Rounds alternate in ABBA order (bench/lib/harness.ts).
// Usage: npm run bench:transcode [-- --preset superfast --rounds 3 --seconds 20 --swap]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runMediaTool } from '../src/media/ffmpeg.process.js';
import { buildHlsArgs } from '../src/media/hls.args.js';
import { fmt, ratioSpread, startBench } from './lib/harness.js';
import { planLadder, probeMedia, resolveMediaTools, transcodeToHls, type LadderPlan, type MediaInfo } from '../src/media/index.js';

const { values: opts } = parseArgs({
  options: {
    preset: { type: 'string', default: 'superfast' },
    runs: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    swap: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const preset = opts.preset as string;
const runs = Math.max(1, Number(opts.runs ?? opts.rounds));
const seconds = Math.max(6, Number(opts.seconds));
const tools = resolveMediaTools();
const bench = startBench('transcode', { a: 'one-decode', b: 'per-rendition' }, { rounds: Number(opts.runs ?? opts.rounds) });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-transcode-'));

function ffmpeg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(tools.ffmpeg, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000);
    });
    p.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-2000)}`))));
  });
}

/**
 * 1080p30 test pattern with faint temporal grain, so the encoder has some camera-like work, stored
 * at about a phone camera's bitrate (12 Mb/s) with a tone at 192 kb/s.
 */
async function makeSource(file: string): Promise<void> {
  await ffmpeg([
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1920x1080:rate=30:duration=${seconds},noise=alls=2:allf=t`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '12M',
    '-maxrate',
    '15M',
    '-bufsize',
    '24M',
    '-g',
    '60',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '192k',
    '-movflags',
    '+faststart',
    file,
  ]);
}

interface Timing {
  wall: number;
  firstPlayable: number;
  /** CPU seconds (user + system) of the ffmpeg processes: unlike wall time, not inflated by other load. */
  cpu: number;
}

/** CPU time of this process's finished children, from /proc (Linux): cutime + cstime, in seconds. */
function childCpuSeconds(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0, so cutime (16) and cstime (17) are 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

async function runNova(src: string, info: MediaInfo, out: string): Promise<Timing> {
  const t0 = performance.now();
  const c0 = childCpuSeconds();
  let firstPlayable = 0;
  await transcodeToHls({ inputPath: src, outDir: out, info, preset, timeoutSeconds: 3600, tools, onPlayable: () => (firstPlayable = performance.now() - t0) });
  return { wall: performance.now() - t0, firstPlayable, cpu: childCpuSeconds() - c0 };
}

/**
 * One process per rung, in sequence, then one for audio. Like PeerTube, a video counts as playable
 * once its first resolution is complete.
 */
async function runPerRendition(src: string, info: MediaInfo, ladder: LadderPlan, out: string): Promise<Timing> {
  const t0 = performance.now();
  const c0 = childCpuSeconds();
  let firstPlayable = 0;
  const jobs: Array<{ info: MediaInfo; ladder: LadderPlan }> = ladder.video.map((rung) => ({ info: { ...info, has_audio: false }, ladder: { ...ladder, video: [rung], audio: null } }));
  if (ladder.audio) jobs.push({ info: { ...info, has_video: false }, ladder: { ...ladder, video: [] } });
  for (const [i, job] of jobs.entries()) {
    const jobDir = path.join(out, job.ladder.video[0]?.name ?? 'audio');
    const { args, variants } = buildHlsArgs({ inputPath: src, outDir: jobDir, info: job.info, ladder: job.ladder, preset });
    for (const v of variants) fs.mkdirSync(path.join(jobDir, v.name), { recursive: true });
    const res = await runMediaTool({ bin: tools.ffmpeg, args, timeoutSeconds: 3600, onStdoutLine: () => undefined });
    if (res.code !== 0) throw new Error(`per-rendition ffmpeg failed: ${res.stderr}`);
    if (i === 0) firstPlayable = performance.now() - t0;
  }
  return { wall: performance.now() - t0, firstPlayable, cpu: childCpuSeconds() - c0 };
}

/** PSNR (average over Y, U, V) of an HLS rendition against the source scaled to the same size. */
async function psnr(playlist: string, src: string, width: number, height: number): Promise<number> {
  const log = await ffmpeg([
    '-v',
    'info',
    '-protocol_whitelist',
    'file',
    '-i',
    playlist,
    '-i',
    src,
    '-lavfi',
    `[0:v]setpts=PTS-STARTPTS[d];[1:v]scale=${width}:${height}:flags=bicubic,setsar=1,setpts=PTS-STARTPTS[r];[d][r]psnr`,
    '-f',
    'null',
    '-',
  ]);
  const m = /PSNR .*average:([\d.]+|inf)/.exec(log);
  if (!m) throw new Error(`no PSNR in: ${log.slice(-500)}`);
  return m[1] === 'inf' ? Infinity : Number(m[1]);
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const src = path.join(dir, 'source.mp4');
  console.log(`transcode bench: ${seconds} s 1080p30 + AAC source, x264 preset ${preset}, ${runs} round(s)`);
  await makeSource(src);
  const info = await probeMedia(src, { maxDurationSeconds: 3600, maxPixels: 1e8, timeoutSeconds: 60, tools });
  const ladder = planLadder(info);
  console.log(`ladder: ${ladder.video.map((r) => `${r.width}x${r.height}@${r.video_kbps}k`).join(', ')} + AAC ${ladder.audio?.audio_kbps}k`);

  const { a: nova, b: base } = await bench.alternate(
    {
      a: async (i) => {
        const out = path.join(dir, `nova-${i}`);
        fs.rmSync(out, { recursive: true, force: true });
        const t = await runNova(src, info, out);
        console.log(`  run ${i + 1} one-decode    : wall ${s(t.wall)}, cpu ${t.cpu.toFixed(1)} s, first playable ${s(t.firstPlayable)}, load ${os.loadavg()[0].toFixed(1)}`);
        return t;
      },
      b: async (i) => {
        const out = path.join(dir, `base-${i}`);
        fs.rmSync(out, { recursive: true, force: true });
        const t = await runPerRendition(src, info, ladder, out);
        console.log(`  run ${i + 1} per-rendition : wall ${s(t.wall)}, cpu ${t.cpu.toFixed(1)} s, first playable ${s(t.firstPlayable)}, load ${os.loadavg()[0].toFixed(1)}`);
        return t;
      },
    },
    { rounds: runs },
  );
  const nw = median(nova.map((t) => t.wall));
  const bw = median(base.map((t) => t.wall));
  const nf = median(nova.map((t) => t.firstPlayable));
  const bf = median(base.map((t) => t.firstPlayable));
  const nc = median(nova.map((t) => t.cpu));
  const bc = median(base.map((t) => t.cpu));

  const last = runs - 1;
  const quality: string[] = [];
  for (const [i, r] of ladder.video.entries()) {
    const a = await psnr(path.join(dir, `nova-${last}`, `v${i}`, 'index.m3u8'), src, r.width, r.height);
    const b = await psnr(path.join(dir, `base-${last}`, r.name, 'v0', 'index.m3u8'), src, r.width, r.height);
    quality.push(`  ${r.name.padEnd(6)} PSNR one-decode ${a.toFixed(2)} dB | per-rendition ${b.toFixed(2)} dB`);
  }

  console.log('\nresults (median of runs)');
  console.log(`  one-decode (Nova)     wall ${s(nw)}  realtime ×${(seconds / (nw / 1000)).toFixed(2)}  first playable ${s(nf)}  (${(nf / nw).toFixed(2)} of time-to-ready)`);
  console.log(`  per-rendition (seq.)  wall ${s(bw)}  realtime ×${(seconds / (bw / 1000)).toFixed(2)}  first playable ${s(bf)}  (${(bf / bw).toFixed(2)} of time-to-ready)`);
  console.log(`  speed-up: one-decode is ${(bw / nw).toFixed(2)}× faster than one-ffmpeg-per-rendition (wall time)`);
  if (runs > 1) {
    // On a shared machine the least-disturbed run is the closest to what the code itself costs.
    const nb = Math.min(...nova.map((t) => t.wall));
    const bb = Math.min(...base.map((t) => t.wall));
    console.log(`  best runs: one-decode ${s(nb)} (realtime ×${(seconds / (nb / 1000)).toFixed(2)}) vs per-rendition ${s(bb)} → ${(bb / nb).toFixed(2)}×`);
  }
  console.log(
    `  cpu: one-decode ${nc.toFixed(1)} s vs per-rendition ${bc.toFixed(1)} s → ${(bc / nc).toFixed(2)}× less work; realtime on 2 idle cores at best ×${(seconds / (nc / os.cpus().length)).toFixed(2)}`,
  );
  console.log(quality.join('\n'));
  const speedup = ratioSpread(
    base.map((t) => t.wall),
    nova.map((t) => t.wall),
  );
  console.log(
    `  speed-up per round (wall): ${fmt(speedup)}; cpu ratio per round: ${fmt(
      ratioSpread(
        base.map((t) => t.cpu),
        nova.map((t) => t.cpu),
      ),
    )}`,
  );
  bench.target('one-decode speed-up (wall)', speedup.median, '>=', 1.5);
  bench.target('one-decode realtime factor', seconds / (nw / 1000), '>=', 1.0);
  bench.target('first playable / time-to-ready', nf / nw, '<=', 0.35);
  bench.finish();
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`outputs kept in ${dir}`);
}

main().catch((err) => {
  console.error(err);
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
