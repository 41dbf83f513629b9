// Runs the test-suite with node's built-in runner (TypeScript through tsx). Files run one at a
// time: many of them start servers and ffmpeg, and these machines have two cores.
// When a selected file needs Kafka (`kafka` in its name), one broker is started for the whole run
// with scripts/kafka.sh and its address passed on as TEST_KAFKA_BROKERS (see test/helpers/kafka.ts).
// Usage: npm test [-- file-or-substring ...] [--exclude substring ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

const env = { ...process.env, NODE_ENV: 'test' };
let kafkaDir = null;
if (files.some((f) => path.basename(f).includes('kafka')) && !env.TEST_KAFKA_BROKERS) {
  kafkaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-kafka-run-'));
  const started = spawnSync('bash', [path.join(root, 'scripts/kafka.sh'), 'start', kafkaDir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const address = started.stdout.trim().split('\n').pop();
  if (started.status === 0 && address) {
    env.TEST_KAFKA_BROKERS = address;
    console.log(`# Kafka broker for this run: ${address}`);
  } else {
    const reason = (started.stderr.trim().split('\n').pop() ?? 'unknown error').replace(/^kafka\.sh: /, '');
    fs.rmSync(kafkaDir, { recursive: true, force: true });
    kafkaDir = null;
    if (/^(1|true)$/i.test(env.CI ?? '')) {
      console.error(started.stderr.trim().split('\n').slice(-20).join('\n'));
      console.error(`Kafka is required in CI, but scripts/kafka.sh could not start a broker: ${reason}`);
      process.exit(1);
    }
    env.TEST_KAFKA_SKIP = reason;
  }
}
const stopKafka = () => {
  if (!kafkaDir) return;
  spawnSync('bash', [path.join(root, 'scripts/kafka.sh'), 'stop', kafkaDir], { stdio: 'ignore' });
  fs.rmSync(kafkaDir, { recursive: true, force: true });
  kafkaDir = null;
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    stopKafka();
    process.exit(1);
  });
// NOVA_TEST_RETRIES=N (CI sets 1): a file with a failure runs again, alone, up to N more times.
// These machines are shared and their load swings widely; a file that then passes is still named
// as flaky at the end of the output, and its first failure stays in the log above.
const retries = Math.max(0, Number(env.NOVA_TEST_RETRIES ?? 0) || 0);
const failedList = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nova-test-run-')), 'failed.json');
function run(list) {
  fs.rmSync(failedList, { force: true });
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(root, 'scripts/failed-files-reporter.mjs')}`,
      `--test-reporter-destination=${failedList}`,
      ...list,
    ],
    { stdio: 'inherit', cwd: root, env },
  );
  let failed = [];
  try {
    failed = JSON.parse(fs.readFileSync(failedList, 'utf8'));
  } catch {
    // No list: the runner itself failed before reporting; the exit status says so.
  }
  return { status: res.status ?? 1, failed };
}
let result = run(files);
const flaky = [];
for (let attempt = 1; attempt <= retries && result.status !== 0 && result.failed.length > 0; attempt++) {
  const again = result.failed;
  console.log(`\n# retry ${attempt}/${retries}: ${again.length} file(s) with a failure run again: ${again.map((f) => path.relative(root, f)).join(', ')}`);
  const next = run(again);
  flaky.push(...again.filter((f) => !next.failed.includes(f)));
  result = next;
}
if (flaky.length) console.log(`# flaky: failed, then passed when run again: ${flaky.map((f) => path.relative(root, f)).join(', ')}`);
fs.rmSync(path.dirname(failedList), { recursive: true, force: true });
stopKafka();
process.exit(result.status);
