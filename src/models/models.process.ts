// The parent side of one model process: spawns models.child, loads a file, runs tensors with a
// timeout, and stops it. Killing the process is how a model version is unloaded, so whatever the
// native runtime kept (ORT #25325) goes back to the system.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHM_ENV, SHM_SLOTS, type FromChild, type ToChild } from './models.protocol.js';
import type { Signature, Tensors } from './models.signature.js';
import { fromWire, toWire, type Outgoing } from './models.wire.js';

/** Where the child entry is: compiled `.js` next to this file, or the `.ts` source under tsx. */
function childEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/models\.process\.(ts|js)$/, 'models.child.js');
  if (here.endsWith('.js') && fs.existsSync(js)) return { file: js, execArgv: [] };
  // Running from source: keep the loader flags (tsx) the parent was started with.
  const argv = process.execArgv;
  const loaders: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (['--import', '--require', '-r', '--loader', '--experimental-loader'].includes(a) && i + 1 < argv.length) loaders.push(a, argv[++i]);
    else if (/^--(import|require|loader|experimental-loader)=/.test(a)) loaders.push(a);
  }
  if (!loaders.some((a) => a.includes('tsx'))) loaders.push('--import', 'tsx');
  return { file: here.replace(/models\.process\.ts$/, 'models.child.ts'), execArgv: loaders };
}

/** Shared-memory files of one in-flight run: input and output. */
interface Slot {
  input: number;
  output: number;
}

/**
 * Unlinked files on tmpfs for tensor data, an input and an output file per slot (SHM_SLOTS runs
 * may be in flight). Unlinked at once, so they vanish with the last process holding them, even
 * after a crash. Null where there is no /dev/shm: tensors then travel inside the IPC messages.
 */
function sharedSlots(): Slot[] | null {
  const dir = '/dev/shm';
  const opened: number[] = [];
  try {
    if (!fs.statSync(dir).isDirectory()) return null;
    const open = (): number => {
      const p = path.join(dir, `nova-model-${process.pid}-${randomBytes(8).toString('hex')}`);
      const fd = fs.openSync(p, 'w+', 0o600);
      opened.push(fd);
      fs.unlinkSync(p);
      return fd;
    };
    return Array.from({ length: SHM_SLOTS }, () => ({ input: open(), output: open() }));
  } catch {
    for (const fd of opened) fs.closeSync(fd);
    return null;
  }
}

function closeSlots(slots: Slot[] | null): void {
  for (const s of slots ?? []) {
    fs.closeSync(s.input);
    fs.closeSync(s.output);
  }
}

export class ModelLoadError extends Error {}
/** A run that failed: on its inputs, or (ModelUnavailableError) because no process could run it. */
export class ModelRunError extends Error {}
/** The process died, was killed (timeout), could not be reached or restarted: not the inputs' fault. */
export class ModelUnavailableError extends ModelRunError {}

interface Pending {
  resolve: (r: { outputs: Tensors; computeMs: number }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  slot: number;
}

export interface ProcessOptions {
  threads: number;
  loadTimeoutMs: number;
  inferTimeoutMs: number;
}

export class ModelProcess {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited = false;
  /** Sent SIGKILL after a timeout: its exit is on its way, so it takes no more runs. */
  private killed = false;
  private readonly exitedPromise: Promise<void>;
  /** Called once when the process ends without being asked to (crash, OOM kill, timeout). */
  onUnexpectedExit: ((reason: string) => void) | null = null;
  private stopping = false;

  /** Free shared-memory slots, and runs waiting for one. */
  private readonly free: number[] = Array.from({ length: SHM_SLOTS }, (_, i) => i);
  private readonly waiting: Array<() => void> = [];

  private constructor(private readonly child: ChildProcess, private readonly opts: ProcessOptions, private readonly shm: Slot[] | null) {
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        closeSlots(this.shm);
        const reason = signal ? `model process killed by ${signal}` : `model process exited with code ${code}`;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new ModelUnavailableError(reason));
        }
        this.pending.clear();
        for (const w of this.waiting.splice(0)) w();
        if (!this.stopping) this.onUnexpectedExit?.(reason);
        resolve();
      });
    });
    child.on('message', (msg: FromChild) => this.onMessage(msg));
    // IPC write errors surface as 'error' on the child; the exit handler settles what is pending.
    child.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited && !this.killed;
  }

  /** Spawns a process and loads `file` in it. Rejects with ModelLoadError when the runtime refuses it. */
  static async start(file: string, opts: ProcessOptions): Promise<{ proc: ModelProcess; signature: Signature }> {
    const entry = childEntry();
    const shm = sharedSlots();
    let child: ChildProcess;
    try {
      child = fork(entry.file, [], {
        execArgv: entry.execArgv,
        serialization: 'advanced',
        env: { ...process.env, [SHM_ENV]: shm ? '1' : '0' },
        // The child finds slot k's files at fds SHM_FD_BASE + 2k (input) and + 2k + 1 (output).
        stdio: ['ignore', 'ignore', 'pipe', 'ipc', ...(shm ?? []).flatMap((s) => [s.input, s.output])],
      });
    } catch (err) {
      closeSlots(shm);
      throw err;
    }
    const proc = new ModelProcess(child, opts, shm);
    // The runtime writes load errors to stderr too; keep a little for the log, never for the client.
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString();
    });
    try {
      const signature = await new Promise<Signature>((resolve, reject) => {
        const timer = setTimeout(() => reject(new ModelLoadError(`loading took longer than ${opts.loadTimeoutMs} ms`)), opts.loadTimeoutMs);
        const onMsg = (msg: FromChild): void => {
          if (msg.op === 'ready') {
            child.send({ op: 'load', path: file, threads: opts.threads } satisfies ToChild);
          } else if (msg.op === 'loaded') {
            done();
            resolve(msg.signature);
          } else if (msg.op === 'load_failed') {
            done();
            reject(new ModelLoadError(msg.error));
          }
        };
        const onExit = (): void => {
          done();
          // The runtime's stderr can name paths and internals: it goes to the error for logs, not the message.
          reject(Object.assign(new ModelLoadError('the model process ended while loading the file (not a model this runtime can load)'), { diagnostics: stderr.trim().slice(0, 2000) }));
        };
        const done = (): void => {
          clearTimeout(timer);
          child.off('message', onMsg);
          child.off('exit', onExit);
        };
        child.on('message', onMsg);
        child.once('exit', onExit);
      });
      return { proc, signature };
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }

  private onMessage(msg: FromChild): void {
    if (msg.op !== 'result' && msg.op !== 'run_failed') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.op !== 'result') {
      this.release(p.slot);
      return p.reject(new ModelRunError(msg.error));
    }
    try {
      const outputs = fromWire(msg.outputs, this.shm?.[p.slot].output ?? null);
      this.release(p.slot);
      p.resolve({ outputs, computeMs: msg.compute_ms });
    } catch (err) {
      this.release(p.slot);
      p.reject(new ModelRunError(`could not read the model's outputs: ${(err as Error).message}`));
    }
  }

  private release(slot: number): void {
    this.free.push(slot);
    this.waiting.shift()?.();
  }

  /**
   * Runs one (possibly batched) set of inputs. Up to SHM_SLOTS runs are in flight, so the next
   * batch crosses over while the current one computes. A run past the timeout kills the process.
   */
  async run(inputs: Outgoing): Promise<{ outputs: Tensors; computeMs: number }> {
    while (this.free.length === 0 && this.alive) await new Promise<void>((r) => this.waiting.push(r));
    if (!this.alive) throw new ModelUnavailableError('model process is not running');
    const slot = this.free.shift()!;
    const id = this.nextId++;
    let wire: ReturnType<typeof toWire>;
    try {
      wire = toWire(inputs, this.shm?.[slot].input ?? null);
    } catch (err) {
      this.release(slot);
      throw new ModelRunError(`could not pass the inputs to the model process: ${(err as Error).message}`);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // A stuck run cannot be cancelled inside the runtime; the process is replaced instead. Marked
        // gone before the rejection is seen, so the next batch goes to the restarted process rather
        // than into this one's other slot (where the exit would fail it).
        this.killed = true;
        reject(new ModelUnavailableError(`inference took longer than ${this.opts.inferTimeoutMs} ms`));
        this.child.kill('SIGKILL');
      }, this.opts.inferTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, slot });
      this.child.send({ op: 'run', id, slot, inputs: wire } satisfies ToChild, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        this.release(slot);
        p.reject(new ModelUnavailableError('could not reach the model process'));
      });
    });
  }

  /** Ends the process (after asking nicely) and waits until it is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    if (this.child.connected) this.child.disconnect();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    this.child.kill('SIGTERM');
    await this.exitedPromise;
    clearTimeout(kill);
  }
}
