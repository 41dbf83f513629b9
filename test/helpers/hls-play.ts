// Checks that an HLS video really plays: ffprobe reads it over HTTP and ffmpeg decodes all of it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** Runs a media tool to its end: exit code, stdout and the tail of stderr. */
export function runTool(bin: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The duration ffprobe reports for the HLS master at `manifestUrl`, once ffmpeg decoded it without error. */
export async function playsInFfprobe(manifestUrl: string): Promise<number> {
  const probe = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', manifestUrl]);
  assert.equal(probe.code, 0, probe.err);
  const decode = await runTool('ffmpeg', ['-v', 'error', '-i', manifestUrl, '-f', 'null', '-']);
  assert.equal(decode.code, 0, decode.err);
  return Number(probe.out.trim());
}
