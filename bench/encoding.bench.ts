// bench:encoding — per-title vs fixed ladder on the same sources in one run: a still slide, a
// talking head, high motion with noise (1080p, 6 s each) and a longer clip mixing the three.
// Modes alternate which goes first. Prints bytes (total, per rung), SSIM/PSNR per rung, wall and CPU
// time of the probe, the ladder and the quality measurement, and the per-title/fixed ratios.
// Env: FFMPEG_PRESET (default: the config's, superfast on ≤ 2 cores), BENCH_SECONDS (per source, 6).
// Flags: --seconds N (per source; the mixed clip is three times that), --sources slide,talking_head,
// high_motion,mixed (a subset, e.g. `--sources mixed --seconds 20` for a 60 s typical-length upload).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { measureQuality, planLadder, probeComplexity, probeMedia, resolveMediaTools, transcodeToHls, type RenditionResult } from '../src/media/index.js';
import { makeMixedSource, makeSource, SOURCE_KINDS } from '../test/fixtures/encoding-sources.js';

const preset = process.env.FFMPEG_PRESET ?? loadConfig({ DATA_DIR: os.tmpdir() }).ffmpegPreset;
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const seconds = Number(flag('seconds') ?? process.env.BENCH_SECONDS ?? 6);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--seconds must be a positive number, got ${flag('seconds')}`);
const ALL_SOURCES = [...SOURCE_KINDS, 'mixed'];
const wanted = (flag('sources') ?? ALL_SOURCES.join(',')).split(',').map((s) => s.trim());
for (const w of wanted) if (!ALL_SOURCES.includes(w)) throw new Error(`--sources: unknown source ${w} (known: ${ALL_SOURCES.join(', ')})`);
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

interface RunResult {
  renditions: RenditionResult[];
  bytes: number;
  probe: Phase;
  encode: Phase;
  measure: Phase;
}

async function run(src: string, mode: 'fixed' | 'per_title', name: string): Promise<RunResult> {
  const info = await probeMedia(src, { maxDurationSeconds: 3600, maxPixels: 7680 * 4320, timeoutSeconds: 60, tools });
  const [complexity, probe] = await timed(async () => (mode === 'per_title' ? probeComplexity({ inputPath: src, workDir: path.join(dir, 'probe'), info, preset, timeoutSeconds: 3600, tools }) : null));
  const ladder = planLadder(info, complexity);
  const out = path.join(dir, `${name}-${mode}`);
  const [result, encode] = await timed(() => transcodeToHls({ inputPath: src, outDir: out, info, ladder, preset, timeoutSeconds: 3600, tools }));
  const [renditions, measure] = await timed(() =>
    measureQuality({ inputPath: src, hlsDir: out, workDir: path.join(dir, 'q'), info, ladder, renditions: result.renditions, timeoutSeconds: 3600, tools }),
  );
  fs.rmSync(out, { recursive: true, force: true });
  return { renditions, bytes: renditions.reduce((a, r) => a + r.bytes, 0), probe, encode, measure };
}

const f3 = (n: number) => n.toFixed(3);
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const load0 = os.loadavg();
  console.log(`bench:encoding — preset ${preset}, ${os.availableParallelism()} cores, load ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const sources: Array<[string, string]> = [];
  for (const kind of SOURCE_KINDS) {
    if (wanted.includes(kind)) sources.push([kind, await makeSource(kind, path.join(dir, `${kind}.mkv`), { width: 1920, height: 1080, seconds })]);
  }
  if (wanted.includes('mixed')) sources.push(['mixed', await makeMixedSource(path.join(dir, 'mixed.mkv'), { width: 1920, height: 1080, secondsEach: seconds })]);
  console.log(`sources: ${sources.map(([n]) => `${n} (${n === 'mixed' ? 3 * seconds : seconds} s)`).join(', ')}`);

  const totals = { fixed: { bytes: 0, cpu: 0, wall: 0, measureCpu: 0 }, per_title: { bytes: 0, cpu: 0, wall: 0, measureCpu: 0, probeCpu: 0 } };
  let worstSsimDelta = Infinity;
  for (const [k, [name, src]] of sources.entries()) {
    const order: Array<'fixed' | 'per_title'> = k % 2 === 0 ? ['fixed', 'per_title'] : ['per_title', 'fixed'];
    const res: Partial<Record<'fixed' | 'per_title', RunResult>> = {};
    for (const mode of order) {
      const r = await run(src, mode, name);
      res[mode] = r;
      // Printed as each mode finishes, so a long run that is cut short still leaves its figures.
      console.log(
        `  [${name} ${mode}] bytes ${kb(r.bytes)}, cpu s probe ${r.probe.cpu.toFixed(1)} + encode ${r.encode.cpu.toFixed(1)}, quality pass ${r.measure.cpu.toFixed(1)}; ssim ${r.renditions.map((x) => f3(x.quality?.ssim ?? 0)).join('/')}; load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const fixed = res.fixed!;
    const pt = res.per_title!;
    console.log(`\n${name} (${order.join(' then ')})`);
    console.log('  rung    fixed bytes  ssim      psnr    | per-title bytes  ssim      psnr    | bytes ratio  Δssim');
    fixed.renditions.forEach((r, i) => {
      const p = pt.renditions[i];
      const d = (p.quality?.ssim ?? 0) - (r.quality?.ssim ?? 0);
      worstSsimDelta = Math.min(worstSsimDelta, d);
      console.log(
        `  ${`${r.height}p`.padEnd(6)}  ${kb(r.bytes).padStart(11)}  ${f3(r.quality?.ssim ?? 0).padEnd(8)}  ${(r.quality?.psnr ?? 0).toFixed(2).padEnd(6)}  | ${kb(p.bytes).padStart(15)}  ${f3(p.quality?.ssim ?? 0).padEnd(8)}  ${(p.quality?.psnr ?? 0).toFixed(2).padEnd(6)}  | ${(p.bytes / r.bytes).toFixed(3).padStart(11)}  ${d >= 0 ? '+' : ''}${d.toFixed(4)}`,
      );
    });
    console.log(`  total ${kb(fixed.bytes)} → ${kb(pt.bytes)}: ratio ${(pt.bytes / fixed.bytes).toFixed(3)}`);
    console.log(
      `  cpu s: fixed encode ${fixed.encode.cpu.toFixed(1)} | per-title probe ${pt.probe.cpu.toFixed(1)} + encode ${pt.encode.cpu.toFixed(1)} (probe = ${((100 * pt.probe.cpu) / pt.encode.cpu).toFixed(0)} % of its transcode) | quality pass ${fixed.measure.cpu.toFixed(1)} / ${pt.measure.cpu.toFixed(1)}`,
    );
    console.log(
      `  wall s: fixed ${fixed.encode.wall.toFixed(1)} | per-title ${(pt.probe.wall + pt.encode.wall).toFixed(1)} | quality pass ${fixed.measure.wall.toFixed(1)} / ${pt.measure.wall.toFixed(1)}`,
    );
    totals.fixed.bytes += fixed.bytes;
    totals.fixed.cpu += fixed.encode.cpu;
    totals.fixed.wall += fixed.encode.wall;
    totals.fixed.measureCpu += fixed.measure.cpu;
    totals.per_title.bytes += pt.bytes;
    totals.per_title.cpu += pt.probe.cpu + pt.encode.cpu;
    totals.per_title.wall += pt.probe.wall + pt.encode.wall;
    totals.per_title.probeCpu += pt.probe.cpu;
    totals.per_title.measureCpu += pt.measure.cpu;
    if (name === 'mixed') {
      console.log(
        `\nMIX: bytes per-title/fixed ${(pt.bytes / fixed.bytes).toFixed(3)} (target ≤ 0.75), CPU (probe + ladder) per-title/fixed ${((pt.probe.cpu + pt.encode.cpu) / fixed.encode.cpu).toFixed(2)}x (target ≤ 1.3x)`,
      );
    }
  }
  const load1 = os.loadavg();
  console.log(`\nALL SOURCES: bytes per-title/fixed ${(totals.per_title.bytes / totals.fixed.bytes).toFixed(3)}; worst per-rung SSIM change ${worstSsimDelta.toFixed(4)} (equal quality: ≥ -0.005)`);
  console.log(
    `CPU per-title/fixed ${(totals.per_title.cpu / totals.fixed.cpu).toFixed(2)}x (probe ${((100 * totals.per_title.probeCpu) / (totals.per_title.cpu - totals.per_title.probeCpu)).toFixed(0)} % of the ladder's CPU); wall ${(totals.per_title.wall / totals.fixed.wall).toFixed(2)}x`,
  );
  console.log(
    `Quality pass (both modes): ${totals.fixed.measureCpu.toFixed(1)} / ${totals.per_title.measureCpu.toFixed(1)} CPU s = ${((100 * totals.fixed.measureCpu) / totals.fixed.cpu).toFixed(0)} % of the fixed ladder's CPU`,
  );
  console.log(`load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')}`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
