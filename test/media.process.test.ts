// The shared media process runner on real processes: a long-running ffmpeg fed through stdin (as
// live feeds it) with its -progress on stdout, a stop that kills the whole process group (what
// ffmpeg started too), a missing binary reported without throwing, and a capped stderr tail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { runMediaTool, startMediaProcess } from '../src/media/ffmpeg.process.js';
import { MediaError, resolveMediaTools } from '../src/media/index.js';

/** Whether a process is gone or dead (a zombie waiting to be reaped counts as dead). */
function dead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return true;
  }
}

async function eventually(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`still not: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('media process runner', () => {
  it('feeds ffmpeg through stdin and reads its -progress from stdout until end of input', async () => {
    const { ffmpeg } = resolveMediaTools();
    let stdout = '';
    const proc = startMediaProcess({
      bin: ffmpeg,
      args: ['-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-nostats', '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', 'pipe:0', '-f', 'null', '-'],
      stdin: true,
      onStdout: (chunk) => (stdout += chunk),
    });
    assert.ok(proc.pid !== undefined && proc.running, 'started at once');
    assert.ok(proc.stdin, 'stdin is a pipe');
    for (let i = 0; i < 4; i++) proc.stdin.write(Buffer.alloc(8000 * 2));
    proc.stdin.end();
    const { code } = await proc.closed;
    assert.equal(code, 0, proc.stderrTail());
    assert.equal(proc.running, false);
    assert.match(stdout, /progress=end/);
    assert.match(stdout, /out_time_us=\d+/);
  });

  it('kill stops the process group, with what the tool started', async () => {
    let stdout = '';
    // The sleep's stdio is not ffmpeg's pipes, so the leader's death alone would not end it.
    const proc = startMediaProcess({ bin: 'sh', args: ['-c', 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!; wait'], onStdout: (chunk) => (stdout += chunk) });
    await eventually('the child printed its pid', () => /^\d+\n/.test(stdout));
    const grandchild = Number(stdout.trim());
    try {
      assert.equal(dead(grandchild), false, 'the started process runs');
      proc.kill();
      const { signal } = await proc.closed;
      assert.equal(signal, 'SIGKILL');
      await eventually('the started process is killed too', () => dead(grandchild));
      proc.kill(); // after exit: nothing left to kill, and no error
    } finally {
      if (!dead(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });

  it('reports a binary that cannot be started through onError, and still settles', async () => {
    const errors: NodeJS.ErrnoException[] = [];
    const proc = startMediaProcess({ bin: '/nonexistent/ffmpeg', args: ['-version'], stdin: true, onError: (err) => errors.push(err) });
    assert.equal(proc.pid, undefined);
    proc.stdin?.write(Buffer.alloc(10));
    await proc.closed;
    assert.deepEqual(
      errors.map((e) => e.code),
      ['ENOENT'],
    );
    proc.kill();
    await assert.rejects(
      runMediaTool({ bin: '/nonexistent/ffmpeg', args: ['-version'], timeoutSeconds: 30 }),
      (err: unknown) => err instanceof MediaError && err.code === 'tool_missing' && /could not be started \(ENOENT\)/.test(err.reason),
    );
  });

  it('keeps only the tail of stderr', async () => {
    const proc = startMediaProcess({ bin: 'sh', args: ['-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line $i" >&2; done'], stderrTailBytes: 100 });
    const { code } = await proc.closed;
    assert.equal(code, 0);
    const tail = proc.stderrTail();
    assert.ok(tail.length <= 100, `capped: ${tail.length}`);
    assert.match(tail, /line 3000\n$/);
    assert.doesNotMatch(tail, /line 1\n/);
  });
});
