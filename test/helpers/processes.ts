// Runs Nova as real child processes (`nova serve`, `nova worker`) for multi-process tests: the same
// entry point operators run, with its own env, and a handle to kill it (SIGTERM or SIGKILL).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export interface NovaProcess {
  child: ChildProcess;
  /** HTTP base URL (serve only). */
  url: string | null;
  /** Log lines seen so far (JSON strings). */
  logs: string[];
  /** Waits for the first log line matching the predicate. */
  waitForLog(pred: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnNova(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<NovaProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', LOG_LEVEL: 'info', FFMPEG_PRESET: 'ultrafast', WEBHOOKS_ALLOW_PRIVATE: 'true', REGISTER_MAX_PER_ADDRESS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const waiters: Array<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    logs.push(line);
    if (logs.length > 5000) logs.shift();
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    for (const w of [...waiters]) {
      if (w.pred(entry)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (pred: (e: Record<string, unknown>) => boolean, ms = timeoutMs) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      for (const l of logs) {
        try {
          const e = JSON.parse(l);
          if (pred(e)) return resolve(e);
        } catch {
          /* not JSON */
        }
      }
      const t = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; last lines:\n${logs.slice(-15).join('\n')}`)), ms);
      waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`nova ${args.join(' ')} exited (${code}) before the expected log line; last lines:\n${logs.slice(-15).join('\n')}`));
      });
    });

  const started = await waitForLog((e) => typeof e.msg === 'string' && /^nova (serve|worker) started$/.test(e.msg as string));
  return {
    child,
    url: (started.url as string | null) ?? null,
    logs,
    waitForLog,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Kills processes (an orphaned ffmpeg of a SIGKILLed worker) whose command line names `dataDir`. */
export function killLeftovers(dataDir: string): void {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2].includes(dataDir) && Number(m[1]) !== process.pid) {
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that need a port named up front). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
