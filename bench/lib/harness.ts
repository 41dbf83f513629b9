// The shared benchmark harness: every `npm run bench:*` script measures Nova (side A) against a
// baseline (side B) in alternating rounds (ABBA order: A B, then B A, …), reports medians with their
// min–max spread and CPU seconds beside wall time, and ends with one verdict line per target:
//   `<bench>: <figure> <value> (target <op> <value>): met|not met`
// `--swap` puts the baseline first in every pair, so a reader can check that order does not move a ratio.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export type Op = '>=' | '<=' | '>' | '<';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Verdict {
  bench: string;
  figure: string;
  value: number;
  op: Op;
  target: number;
  met: boolean;
}

/** Reads `--name=value` or `--name value` from argv. */
export function arg(name: string, fallback: string): string {
  const argv = process.argv;
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--')) return argv[i + 1];
  return fallback;
}

export function numArg(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
}

export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export function spread(xs: number[]): Spread {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 ? s[Math.floor(mid)] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

export function fmt(s: Spread, digits = 2, unit = ''): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** User + system CPU seconds a process has used so far (Linux /proc; this process without a pid). */
export function cpuSeconds(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
  return ticks / clockTicks();
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds of a process and all its descendants (ffmpeg children included), from /proc. */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const walk = (p: number) => {
    if (seen.has(p)) return;
    seen.add(p);
    try {
      total += cpuSeconds(p);
      const kids = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(' ') : []) walk(Number(k));
    } catch {
      // The process ended meanwhile: what it used is in its parent's cutime once reaped.
    }
  };
  walk(pid);
  return total;
}

/** Lets the disk catch up between sides, so one side never pays for the other's dirty pages. */
export async function settle(opts: { sync?: boolean; ms?: number } = {}): Promise<void> {
  if (opts.sync) {
    try {
      execFileSync('sync');
    } catch {
      // No sync binary: the pause alone has to do.
    }
  }
  if (opts.ms) await new Promise((r) => setTimeout(r, opts.ms));
}

export interface Bench {
  readonly name: string;
  readonly swap: boolean;
  readonly rounds: number;
  /** Runs `rounds` pairs in ABBA order (B first in even rounds with --swap); returns results per side. */
  alternate<A, B>(sides: { a: (round: number) => Promise<A>; b: (round: number) => Promise<B> }, opts?: { settle?: { sync?: boolean; ms?: number }; rounds?: number }): Promise<{ a: A[]; b: B[] }>;
  /** Prints and records one verdict line; returns whether the target is met. */
  target(figure: string, value: number, op: Op, target: number, digits?: number): boolean;
  /** Records a figure without a target (kept in bench-results.json). */
  figure(name: string, value: number, unit?: string): void;
  /** Prints the load average after the run and writes the results file when BENCH_RESULTS_FILE is set. */
  finish(): void;
}

/**
 * Starts a benchmark: prints the machine, the load average and which side runs first.
 * `sides` names A (Nova) and B (the baseline) for the announcement.
 */
export function startBench(name: string, sides: { a: string; b: string }, defaults: { rounds?: number } = {}): Bench {
  const swap = flag('swap');
  const rounds = numArg('rounds', defaults.rounds ?? 4);
  if (rounds < 1) throw new Error('--rounds must be at least 1');
  const loadBefore = loadAverage();
  console.log(swap ? `sides swapped: ${sides.b} runs first` : `sides in order: ${sides.a} runs first`);
  console.log(`${name}: ${os.cpus().length} cores, node ${process.version}, load average before ${loadBefore}, ${rounds} alternating rounds`);
  const verdicts: Verdict[] = [];
  const figures: Array<{ name: string; value: number; unit?: string }> = [];
  const compare = (v: number, op: Op, t: number) => (op === '>=' ? v >= t : op === '<=' ? v <= t : op === '>' ? v > t : v < t);
  return {
    name,
    swap,
    rounds,
    async alternate<A, B>(fns: { a: (round: number) => Promise<A>; b: (round: number) => Promise<B> }, opts: { settle?: { sync?: boolean; ms?: number }; rounds?: number } = {}) {
      const a: A[] = [];
      const b: B[] = [];
      const n = opts.rounds ?? rounds;
      for (let r = 0; r < n; r++) {
        const aFirst = (r % 2 === 0) !== swap;
        const order: Array<'a' | 'b'> = aFirst ? ['a', 'b'] : ['b', 'a'];
        for (const side of order) {
          if (opts.settle) await settle(opts.settle);
          if (side === 'a') a.push(await fns.a(r));
          else b.push(await fns.b(r));
        }
      }
      return { a, b };
    },
    target(figure, value, op, target, digits = 2) {
      const met = Number.isFinite(value) && compare(value, op, target);
      verdicts.push({ bench: name, figure, value, op, target, met });
      console.log(`${name}: ${figure} ${Number.isFinite(value) ? value.toFixed(digits) : String(value)} (target ${op} ${target}): ${met ? 'met' : 'not met'}`);
      return met;
    },
    figure(fname, value, unit) {
      figures.push({ name: fname, value, unit });
    },
    finish() {
      const loadAfter = loadAverage();
      console.log(`${name}: load average after ${loadAfter}`);
      const file = process.env.BENCH_RESULTS_FILE;
      if (file) {
        const entry = { bench: name, at: new Date().toISOString(), swap, rounds, load_before: loadBefore, load_after: loadAfter, verdicts, figures };
        fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
      }
    },
  };
}

/** Per-round ratios a[i] / b[i] of the paired rounds, as a spread. */
export function ratioSpread(a: number[], b: number[]): Spread {
  return spread(a.map((x, i) => x / b[i]));
}
