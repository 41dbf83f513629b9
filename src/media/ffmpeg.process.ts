// Runs ffmpeg/ffprobe safely: an argument array through spawn (never a shell), its own process group
// so a wall-clock timeout, an abort or a stop kills everything it started, stdout streamed or
// collected, and stderr kept only as a capped tail for error reasons. runMediaTool runs a job to
// its end; startMediaProcess keeps one running with stdin open for as long as its caller feeds it (live).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { MediaError } from './media.errors.js';

export interface StartOptions {
  bin: string;
  args: string[];
  /** Working folder: lets filter options name files relatively, with nothing to escape. */
  cwd?: string;
  /** stdin as a pipe for the caller to write to (live: the publisher's FLV); otherwise closed. */
  stdin?: boolean;
  /** Each chunk of stdout, as text. */
  onStdout?: (chunk: string) => void;
  stderrTailBytes?: number;
  /** The process could not be started (missing binary, no permission); `closed` still follows. */
  onError?: (err: NodeJS.ErrnoException) => void;
}

export interface MediaProcess {
  /** Undefined when the process could not be started. */
  readonly pid: number | undefined;
  /** Null unless started with `stdin: true`. Write errors (ffmpeg gone) are swallowed: `closed` tells. */
  readonly stdin: Writable | null;
  /** Until the process has exited. */
  readonly running: boolean;
  /** The last stderrTailBytes (default 32 KiB) of stderr. */
  stderrTail(): string;
  /** SIGKILL to the whole process group (ffmpeg and anything it started). */
  kill(): void;
  /** Settles once the process exited and its output closed (also after a failed start). */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns at once (synchronously, so the caller can write to stdin right after) and returns a handle. */
export function startMediaProcess(opts: StartOptions): MediaProcess {
  const tailBytes = opts.stderrTailBytes ?? 32 * 1024;
  // detached: the child leads a new process group, so kill(-pid) also reaches anything it forks.
  // stdout stays a pipe: if this process dies, ffmpeg's next -progress write gets SIGPIPE and it
  // exits instead of running on as an orphan (with stdin, it also sees end-of-file).
  // (stdout and stderr are always pipes; the typings cannot tell from a stdin chosen at run time.)
  const child = spawn(opts.bin, opts.args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true, shell: false, cwd: opts.cwd }) as ChildProcessByStdio<
    Writable | null,
    Readable,
    Readable
  >;
  let stderr = '';
  child.stdout.setEncoding('utf8');
  if (opts.onStdout) child.stdout.on('data', opts.onStdout);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > tailBytes * 2) stderr = stderr.slice(-tailBytes);
  });
  child.stdin?.on('error', () => {});
  child.on('error', (err: NodeJS.ErrnoException) => opts.onError?.(err));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid,
    stdin: child.stdin,
    get running() {
      return running();
    },
    stderrTail: () => stderr.slice(-tailBytes),
    kill() {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already; the leader alone is killed if it is somehow still there.
        if (running()) child.kill('SIGKILL');
      }
    },
    closed: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
  };
}

export interface RunOptions {
  bin: string;
  args: string[];
  timeoutSeconds: number;
  signal?: AbortSignal;
  /** Called with each complete stdout line; when set, stdout is not collected. */
  onStdoutLine?: (line: string) => void;
  /** Upper bound for collected stdout (ffprobe JSON); more is an error. */
  maxStdoutBytes?: number;
  stderrTailBytes?: number;
  /** Working folder: lets filter options name files relatively, with nothing to escape. */
  cwd?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Resolves with the exit status whatever it is (callers turn failures into reasons); rejects only
 * with MediaError for a timeout, an abort, a missing binary or runaway output.
 */
export function runMediaTool(opts: RunOptions): Promise<RunResult> {
  const tailBytes = opts.stderrTailBytes ?? 32 * 1024;
  const maxStdout = opts.maxStdoutBytes ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new MediaError('aborted', 'Processing was cancelled.'));
      return;
    }
    let stdout = '';
    let stdoutBytes = 0;
    let partial = '';
    let failure: MediaError | undefined;
    const proc = startMediaProcess({
      bin: opts.bin,
      args: opts.args,
      cwd: opts.cwd,
      stderrTailBytes: tailBytes,
      onStdout: (chunk) => {
        if (opts.onStdoutLine) {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) opts.onStdoutLine(line.trimEnd());
          return;
        }
        stdoutBytes += Buffer.byteLength(chunk);
        if (stdoutBytes > maxStdout) {
          failure ??= new MediaError('not_media', 'The file describes more streams or metadata than Nova accepts.');
          killGroup();
          return;
        }
        stdout += chunk;
      },
      onError: (err) => {
        failure ??= new MediaError('tool_missing', `${opts.bin} could not be started (${err.code ?? 'error'}).`);
      },
    });

    function killGroup(): void {
      if (proc.running) proc.kill();
    }
    const timer = setTimeout(() => {
      failure = new MediaError('timeout', `Processing took longer than the ${opts.timeoutSeconds} s limit and was stopped.`);
      killGroup();
    }, opts.timeoutSeconds * 1000);
    const onAbort = () => {
      failure ??= new MediaError('aborted', 'Processing was cancelled.');
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    void proc.closed.then(({ code, signal }) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (partial && opts.onStdoutLine) opts.onStdoutLine(partial.trimEnd());
      if (failure) {
        reject(new MediaError(failure.code, failure.reason, proc.stderrTail()));
        return;
      }
      resolve({ code, signal, stdout, stderr: proc.stderrTail() });
    });
  });
}

/** The safety options every input gets: local files only, and only real container demuxers. */
export function safeInputArgs(formats: readonly string[]): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', formats.join(',')];
}
