// Runs the test-suite with node's built-in runner (TypeScript through tsx). Files run one at a
// time: many of them start servers and ffmpeg, and these machines have two cores.
// Usage: npm test [-- file-or-substring ...] [--exclude substring ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}
const argv = process.argv.slice(2);
const excludes = argv.flatMap((a, i) => (argv[i - 1] === '--exclude' ? [a] : []));
const filters = argv.filter((a, i) => a !== '--exclude' && argv[i - 1] !== '--exclude');
let files = walk(path.join(root, 'test')).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
for (const f of files.filter((f) => excludes.some((x) => f.includes(x)))) console.log(`# skip: ${path.relative(root, f)} (excluded from this run)`);
files = files.filter((f) => !excludes.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(res.status ?? 1);
