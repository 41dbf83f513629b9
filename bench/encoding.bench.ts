// bench:encoding — per-title (side A: complexity probe + capped CRF per rung) vs the fixed ladder
// (side B: contract bitrates) on the same sources in one run: a still slide, a talking head, high
// motion with noise (1080p, 6 s each) and a longer clip mixing the three. For each source the modes
// alternate in ABBA rounds (bench/lib/harness.ts), with a sync and a short pause before each side since
// both write their ladder to disk; every source is probed once first as a warm-up. Prints bytes (total,
// per rung), SSIM/PSNR per rung (quality pass in the first round of each mode only: the encodes of later
// rounds differ by well under 1 % in bytes, printed per round to show it), CPU and wall seconds of the
// probe, the ladder and the quality pass, and per-round per-title/fixed ratios as median (min–max).
// Env: FFMPEG_PRESET (default: the config's, superfast on ≤ 2 cores), BENCH_SECONDS (per source, 6).
// Usage: npm run bench:encoding [-- --seconds N --sources slide,talking_head,high_motion,mixed --rounds 3 --swap]
// (`--sources mixed --seconds 20` is a 60 s typical-length upload: the mixed clip is three times --seconds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { measureQuality, planLadder, probeComplexity, probeMedia, resolveMediaTools, transcodeToHls, type MediaInfo, type RenditionResult } from '../src/media/index.js';
import { makeMixedSource, makeSource, SOURCE_KINDS } from '../test/fixtures/encoding-sources.js';
import { arg, fmt, numArg, ratioSpread, spread, startBench, type Spread } from './lib/harness.js';

const preset = process.env.FFMPEG_PRESET ?? loadConfig({ DATA_DIR: os.tmpdir() }).ffmpegPreset;
const seconds = numArg('seconds', Number(process.env.BENCH_SECONDS ?? 6));
if (seconds <= 0) throw new Error(`--seconds must be a positive number, got ${seconds}`);
const ALL_SOURCES = [...SOURCE_KINDS, 'mixed'];
const wanted = arg('sources', ALL_SOURCES.join(','))
  .split(',')
  .map((s) => s.trim());
for (const w of wanted) if (!ALL_SOURCES.includes(w)) throw new Error(`--sources: unknown source ${w} (known: ${ALL_SOURCES.join(', ')})`);
const bench = startBench('encoding', { a: 'per-title', b: 'fixed' }, { rounds: 3 });
const tools = resolveMediaTools();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-encoding-'));
const TICK = 100; // USER_HZ: /proc clock ticks per second on Linux

/** CPU seconds of this process's finished children (ffmpeg runs), from /proc/self/stat. */
function childCpu(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICK; // cutime + cstime
}

interface Phase {
  wall: number;
  cpu: number;
}
async function timed<T>(fn: () => Promise<T>): Promise<[T, Phase]> {
  const c0 = childCpu();
  const t0 = performance.now();
  const r = await fn();
  return [r, { wall: (performance.now() - t0) / 1000, cpu: childCpu() - c0 }];
}

type Mode = 'fixed' | 'per_title';
interface RunResult {
  renditions: RenditionResult[];
  bytes: number;
  probe: Phase;
  encode: Phase;
  /** Only in the first round of each mode. */
  measure: Phase | null;
}
const ladderCpu = (r: RunResult) => r.probe.cpu + r.encode.cpu;
const ladderWall = (r: RunResult) => r.probe.wall + r.encode.wall;

async function run(src: string, info: MediaInfo, mode: Mode, name: string, withQuality: boolean): Promise<RunResult> {
  const [complexity, probe] = await timed(async () => (mode === 'per_title' ? probeComplexity({ inputPath: src, workDir: path.join(dir, 'probe'), info, preset, timeoutSeconds: 3600, tools }) : null));
  const ladder = planLadder(info, complexity);
  const out = path.join(dir, `${name}-${mode}`);
  fs.rmSync(out, { recursive: true, force: true });
  const [result, encode] = await timed(() => transcodeToHls({ inputPath: src, outDir: out, info, ladder, preset, timeoutSeconds: 3600, tools }));
  let renditions = result.renditions;
  let measure: Phase | null = null;
  if (withQuality) {
    [renditions, measure] = await timed(() => measureQuality({ inputPath: src, hlsDir: out, workDir: path.join(dir, 'q'), info, ladder, renditions: result.renditions, timeoutSeconds: 3600, tools }));
  }
  fs.rmSync(out, { recursive: true, force: true });
  return { renditions, bytes: result.renditions.reduce((a, r) => a + r.bytes, 0), probe, encode, measure };
}

const f3 = (n: number) => n.toFixed(3);
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const ssimOf = (r: RenditionResult) => r.quality?.ssim ?? 0;

/** Prints one source's rung table (first round) and its per-round ratios; returns the worst SSIM change. */
function report(name: string, fixed: RunResult[], pt: RunResult[]): number {
  let worst = Infinity;
  console.log(`\n${name}: rung table from the first round of each mode`);
  console.log('  rung    fixed bytes  ssim      psnr    | per-title bytes  ssim      psnr    | bytes ratio  Δssim');
  fixed[0].renditions.forEach((r, i) => {
    const p = pt[0].renditions[i];
    const d = ssimOf(p) - ssimOf(r);
    if (r.height > 0) worst = Math.min(worst, d);
    console.log(
      `  ${`${r.height}p`.padEnd(6)}  ${kb(r.bytes).padStart(11)}  ${f3(ssimOf(r)).padEnd(8)}  ${(r.quality?.psnr ?? 0).toFixed(2).padEnd(6)}  | ${kb(p.bytes).padStart(15)}  ${f3(ssimOf(p)).padEnd(8)}  ${(p.quality?.psnr ?? 0).toFixed(2).padEnd(6)}  | ${(p.bytes / r.bytes).toFixed(3).padStart(11)}  ${d >= 0 ? '+' : ''}${d.toFixed(4)}`,
    );
  });
  const bytes = (xs: RunResult[]) => xs.map((x) => x.bytes);
  console.log(`  bytes per round: fixed ${bytes(fixed).map(kb).join(', ')} | per-title ${bytes(pt).map(kb).join(', ')}`);
  console.log(`  bytes per-title/fixed ${fmt(ratioSpread(bytes(pt), bytes(fixed)), 3)}`);
  const probeShare = ratioSpread(
    pt.map((r) => r.probe.cpu),
    pt.map((r) => r.encode.cpu),
  );
  console.log(
    `  cpu s: fixed encode ${fmt(spread(fixed.map((r) => r.encode.cpu)), 1)} | per-title probe ${fmt(spread(pt.map((r) => r.probe.cpu)), 1)} + encode ${fmt(spread(pt.map((r) => r.encode.cpu)), 1)} (probe = ${fmt(probeShare, 2)} of its transcode) | quality pass ${fixed[0].measure!.cpu.toFixed(1)} / ${pt[0].measure!.cpu.toFixed(1)}`,
  );
  console.log(
    `  CPU (probe + ladder) per-title/fixed ${fmt(ratioSpread(pt.map(ladderCpu), fixed.map(ladderCpu)), 2, 'x')}; wall ${fmt(ratioSpread(pt.map(ladderWall), fixed.map(ladderWall)), 2, 'x')}`,
  );
  return worst;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  console.log(`encoding: preset ${preset}`);
  const sources: Array<[string, string]> = [];
  for (const kind of SOURCE_KINDS) {
    if (wanted.includes(kind)) sources.push([kind, await makeSource(kind, path.join(dir, `${kind}.mkv`), { width: 1920, height: 1080, seconds })]);
  }
  if (wanted.includes('mixed')) sources.push(['mixed', await makeMixedSource(path.join(dir, 'mixed.mkv'), { width: 1920, height: 1080, secondsEach: seconds })]);
  console.log(`sources: ${sources.map(([n]) => `${n} (${n === 'mixed' ? 3 * seconds : seconds} s)`).join(', ')}`);
  // Warm-up: ffprobe reads every source once (binaries and sources in the page cache for both modes).
  const infos = new Map<string, MediaInfo>();
  for (const [name, src] of sources) infos.set(name, await probeMedia(src, { maxDurationSeconds: 3600, maxPixels: 7680 * 4320, timeoutSeconds: 60, tools }));

  const results = new Map<string, { fixed: RunResult[]; pt: RunResult[] }>();
  let worstSsimDelta = Infinity;
  for (const [name, src] of sources) {
    const info = infos.get(name)!;
    // Each mode is printed as it finishes, so a long run that is cut short still leaves its figures.
    const line = (mode: Mode, r: number, x: RunResult) =>
      console.log(
        `  [${name} ${mode} round ${r + 1}] bytes ${kb(x.bytes)}, cpu s probe ${x.probe.cpu.toFixed(1)} + encode ${x.encode.cpu.toFixed(1)}${x.measure ? `, quality pass ${x.measure.cpu.toFixed(1)}; ssim ${x.renditions.map((q) => f3(ssimOf(q))).join('/')}` : ''}; load ${os.loadavg()[0].toFixed(2)}`,
      );
    const { a: pt, b: fixed } = await bench.alternate(
      {
        a: async (r) => {
          const x = await run(src, info, 'per_title', name, r === 0);
          line('per_title', r, x);
          return x;
        },
        b: async (r) => {
          const x = await run(src, info, 'fixed', name, r === 0);
          line('fixed', r, x);
          return x;
        },
      },
      { settle: { sync: true, ms: 1000 } },
    );
    results.set(name, { fixed, pt });
    worstSsimDelta = Math.min(worstSsimDelta, report(name, fixed, pt));
  }

  // Totals over the selected sources, per round, then summarised as median (min–max).
  const all = [...results.values()];
  const perRound = (pick: (x: { fixed: RunResult[]; pt: RunResult[] }) => RunResult[], f: (r: RunResult) => number) =>
    Array.from({ length: bench.rounds }, (_, i) => sum(all.map((x) => f(pick(x)[i]))));
  const allBytes = ratioSpread(
    perRound(
      (x) => x.pt,
      (r) => r.bytes,
    ),
    perRound(
      (x) => x.fixed,
      (r) => r.bytes,
    ),
  );
  const allCpu = ratioSpread(
    perRound((x) => x.pt, ladderCpu),
    perRound((x) => x.fixed, ladderCpu),
  );
  const allProbe = ratioSpread(
    perRound(
      (x) => x.pt,
      (r) => r.probe.cpu,
    ),
    perRound(
      (x) => x.pt,
      (r) => r.encode.cpu,
    ),
  );
  const fixedCpu0 = sum(all.map((x) => x.fixed[0].encode.cpu));
  const measureCpu = (m: 'fixed' | 'pt') => sum(all.map((x) => x[m][0].measure!.cpu));
  console.log(`\nALL SOURCES: bytes per-title/fixed ${fmt(allBytes, 3)}; worst per-rung SSIM change ${worstSsimDelta.toFixed(4)} (equal quality: ≥ -0.005)`);
  console.log(`CPU (probe + ladder) per-title/fixed ${fmt(allCpu, 2, 'x')} (probe ${fmt(allProbe, 2)} of the per-title ladder's CPU)`);
  console.log(
    `Quality pass (first round, both modes): ${measureCpu('fixed').toFixed(1)} / ${measureCpu('pt').toFixed(1)} CPU s = ${((100 * measureCpu('fixed')) / fixedCpu0).toFixed(0)} % of the fixed ladder's CPU`,
  );

  // The targets are about a typical upload: the mixed clip when it ran, else every selected source.
  const mixed = results.get('mixed');
  const scope = mixed ? 'mixed' : 'all sources';
  const bytesRatio: Spread = mixed
    ? ratioSpread(
        mixed.pt.map((r) => r.bytes),
        mixed.fixed.map((r) => r.bytes),
      )
    : allBytes;
  const cpuRatio: Spread = mixed ? ratioSpread(mixed.pt.map(ladderCpu), mixed.fixed.map(ladderCpu)) : allCpu;
  const probeShare: Spread = mixed
    ? ratioSpread(
        mixed.pt.map((r) => r.probe.cpu),
        mixed.pt.map((r) => r.encode.cpu),
      )
    : allProbe;
  bench.figure(`${scope} bytes per-title/fixed`, bytesRatio.median);
  bench.figure(`${scope} CPU per-title/fixed`, cpuRatio.median, 'x');
  bench.figure('quality pass / fixed ladder CPU', measureCpu('fixed') / fixedCpu0);
  console.log('');
  bench.target(`${scope} bytes per-title/fixed`, bytesRatio.median, '<=', 0.75, 3);
  bench.target(`${scope} CPU (probe + ladder) per-title/fixed`, cpuRatio.median, '<=', 1.3);
  bench.target(`${scope} probe CPU / per-title transcode CPU`, probeShare.median, '<=', 0.3);
  bench.target('worst per-rung SSIM change', worstSsimDelta, '>=', -0.005, 4);
  bench.finish();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
