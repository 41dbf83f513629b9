// `npm run bench:all`: every `bench:*` script in sequence, then a machine-readable summary in
// bench-results.json (each benchmark's exit code, duration and verdict lines), which CI may keep as an
// artifact. Extra arguments (e.g. `-- --swap`) are passed to every benchmark.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './lib/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VERDICT = /^([\w-]+): (.+) (\S+) \(target (>=|<=|>|<) ([\d.eE+-]+)\): (met|not met)$/;

interface Outcome {
  script: string;
  exit_code: number | null;
  seconds: number;
  verdicts: Array<{ bench: string; figure: string; value: number; op: string; target: number; met: boolean }>;
}

function run(script: string, extra: string[]): Promise<Outcome> {
  const started = Date.now();
  const verdicts: Outcome['verdicts'] = [];
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script, ...(extra.length ? ['--', ...extra] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      process.stdout.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const m = VERDICT.exec(line.trim());
        if (m) verdicts.push({ bench: m[1], figure: m[2], value: Number(m[3]), op: m[4], target: Number(m[5]), met: m[6] === 'met' });
      }
    });
    child.on('close', (code) => resolve({ script, exit_code: code, seconds: (Date.now() - started) / 1000, verdicts }));
  });
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const scripts = Object.keys(pkg.scripts).filter((s) => s.startsWith('bench:') && s !== 'bench:all');
const extra = process.argv.slice(2);
const summary = {
  started_at: new Date().toISOString(),
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, load_before: loadAverage() },
  args: extra,
  results: [] as Outcome[],
  load_after: '',
};
for (const script of scripts) {
  console.log(`\n=== ${script} ===`);
  summary.results.push(await run(script, extra));
}
summary.load_after = loadAverage();
const out = path.join(ROOT, 'bench-results.json');
fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
const all = summary.results.flatMap((r) => r.verdicts);
console.log(
  `\n${summary.results.length} benchmarks, ${summary.results.filter((r) => r.exit_code !== 0).length} failed to run; ${all.filter((v) => v.met).length} of ${all.length} targets met; summary in ${path.relative(process.cwd(), out)}`,
);
