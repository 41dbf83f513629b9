// Runs ffmpeg/ffprobe safely: an argument array through spawn (never a shell), its own process group
// so a wall-clock timeout or an abort kills everything it started, stdout streamed or collected,
// and stderr kept only as a capped tail for error reasons.
import { spawn } from 'node:child_process';
import { MediaError } from './media.errors.js';

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
    // detached: the child leads a new process group, so kill(-pid) also reaches anything it forks.
    // stdout stays a pipe: if this process dies, ffmpeg's next -progress write gets SIGPIPE and it
    // exits instead of running on as an orphan.
    const child = spawn(opts.bin, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false, cwd: opts.cwd });
    let stdout = '';
    let stdoutBytes = 0;
    let partial = '';
    let stderr = '';
    let failure: MediaError | undefined;

    const killGroup = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      failure = new MediaError('timeout', `Processing took longer than the ${opts.timeoutSeconds} s limit and was stopped.`);
      killGroup();
    }, opts.timeoutSeconds * 1000);
    const onAbort = () => {
      failure ??= new MediaError('aborted', 'Processing was cancelled.');
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
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
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > tailBytes * 2) stderr = stderr.slice(-tailBytes);
    });

    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= new MediaError('tool_missing', `${opts.bin} could not be started (${err.code ?? 'error'}).`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (partial && opts.onStdoutLine) opts.onStdoutLine(partial.trimEnd());
      if (failure) {
        reject(new MediaError(failure.code, failure.reason, stderr.slice(-tailBytes)));
        return;
      }
      resolve({ code, signal, stdout, stderr: stderr.slice(-tailBytes) });
    });
  });
}

/** The safety options every input gets: local files only, and only real container demuxers. */
export function safeInputArgs(formats: readonly string[]): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', formats.join(',')];
}
