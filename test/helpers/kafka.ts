// The real Kafka broker of the test-suite. `npm test` (scripts/test.mjs) starts one broker per run
// through scripts/kafka.sh when a selected file needs it and passes its address as
// TEST_KAFKA_BROKERS; a file run on its own starts its own. In CI (CI=true) a broker that cannot
// start fails the suite; elsewhere, without java/mvn, the Kafka suites are skipped with one line.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { IS_CI } from './env.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const KAFKA_SCRIPT = path.join(ROOT, 'scripts/kafka.sh');

export interface TestBroker {
  brokers: string[];
  dir: string;
  /** SIGKILLs the broker process (its data stays). */
  kill(): void;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

/** Starts a broker of its own in a fresh folder (for tests that kill it), on `port` when given. */
export async function startBroker(port?: number): Promise<TestBroker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-kafka-'));
  const start = async () => {
    const { stdout } = await run('bash', [KAFKA_SCRIPT, 'start', dir, ...(port ? ['--port', String(port)] : [])], { timeout: 300_000 });
    return stdout.trim().split('\n').pop()!;
  };
  let address: string;
  try {
    address = await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`scripts/kafka.sh could not start a broker: ${lastLine(err)}`);
  }
  return {
    brokers: [address],
    dir,
    kill() {
      const pid = Number(fs.readFileSync(path.join(dir, 'kafka.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
    },
    async start() {
      await start();
    },
    async stop() {
      await run('bash', [KAFKA_SCRIPT, 'stop', dir], { timeout: 60_000 }).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim().split('\n').pop() ?? e.message ?? String(err)).replace(/^kafka\.sh: /, '');
}

let shared: Promise<string[] | string> | null = null;

/**
 * The run's broker addresses, or the reason to skip (outside CI only). A file run without
 * scripts/test.mjs starts a broker for itself and stops it when the process exits.
 */
export function testKafka(): Promise<string[] | string> {
  shared ??= (async () => {
    const given = process.env.TEST_KAFKA_BROKERS?.split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    if (given?.length) return given;
    let reason = process.env.TEST_KAFKA_SKIP;
    if (!reason) {
      try {
        const broker = await startBroker();
        process.once('exit', () => {
          try {
            process.kill(Number(fs.readFileSync(path.join(broker.dir, 'kafka.pid'), 'utf8')), 'SIGKILL');
          } catch {
            // already gone
          }
          fs.rmSync(broker.dir, { recursive: true, force: true });
        });
        return broker.brokers;
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    if (IS_CI) throw new Error(`Kafka is required in CI: ${reason}`);
    const line = `Kafka suite skipped: ${reason}`;
    console.log(`# skip: ${line}`);
    return line;
  })();
  return shared;
}

/** A prefix unique to this test, for topics and consumer groups on the shared broker. */
export function uniquePrefix(name: string): string {
  return `nova-t-${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
}
