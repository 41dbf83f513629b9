// The complexity probe: before the ladder, a few sampled GOP-long scenes are encoded at the target
// constant quality at the ladder's smallest size, and the bits per pixel they took say how hard
// this content is to encode. Sampling bounds the cost: about a third of the source at most.
import fs from 'node:fs';
import path from 'node:path';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import { runMediaTool, safeInputArgs } from './ffmpeg.process.js';
import { pinnedDemuxer } from './hls.args.js';
import { GOP_SECONDS, planLadder } from './ladder.js';
import { MediaError } from './media.errors.js';
import { TARGET_CRF } from './per-title.js';
import { ALLOWED_DEMUXERS } from './probe.js';
import type { ContentComplexity, MediaInfo, MediaTools } from './media.types.js';

/** Scenes of one GOP each, so the probe has the ladder's share of keyframes. */
export const WINDOW_SECONDS = GOP_SECONDS;
export const MAX_WINDOWS = 4;
/** Fraction of the source the probe may decode. */
const SAMPLED_FRACTION = 0.34;
/** The probe's encode should be cheap: no slower than this preset, whatever the ladder uses. */
const PRESET_ORDER = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];
const SLOWEST_PROBE_PRESET = 'veryfast';

export interface Window {
  start: number;
  seconds: number;
}

/** Evenly spread GOP-long windows covering at most a third of the source (one window at least). */
export function sampleWindows(durationSeconds: number): Window[] {
  const d = Math.max(0, durationSeconds);
  if (d <= WINDOW_SECONDS) return [{ start: 0, seconds: d }];
  const n = Math.max(1, Math.min(MAX_WINDOWS, Math.floor((d * SAMPLED_FRACTION) / WINDOW_SECONDS)));
  return Array.from({ length: n }, (_, k) => {
    const centre = ((k + 0.5) * d) / n;
    const start = Math.min(Math.max(0, centre - WINDOW_SECONDS / 2), d - WINDOW_SECONDS);
    return { start: Math.round(start * 1000) / 1000, seconds: WINDOW_SECONDS };
  });
}

export function probePreset(preset: string): string {
  const i = PRESET_ORDER.indexOf(preset);
  const cap = PRESET_ORDER.indexOf(SLOWEST_PROBE_PRESET);
  return i < 0 || i > cap ? SLOWEST_PROBE_PRESET : preset;
}

export interface ComplexityArgsInput {
  inputPath: string;
  outFile: string;
  info: MediaInfo;
  preset: string;
}

export interface ComplexityCommand {
  args: string[];
  width: number;
  height: number;
  fps: number;
  windows: Window[];
}

/** Null when there is no picture to probe. */
export function buildComplexityArgs({ inputPath, outFile, info, preset }: ComplexityArgsInput): ComplexityCommand | null {
  const ladder = planLadder(info);
  const smallest = ladder.video[ladder.video.length - 1];
  if (!smallest) return null;
  const windows = sampleWindows(info.duration_seconds);
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];
  for (const w of windows) {
    // Input seeking lands on the keyframe before `start` and drops frames up to it (accurate seek).
    if (windows.length > 1) args.push('-ss', String(w.start), '-t', String(w.seconds));
    args.push(...safeInputArgs(ALLOWED_DEMUXERS), '-f', pinnedDemuxer(info.format_name), '-i', `file:${inputPath}`);
  }
  // The ladder's own frame rate and scaler, so the probe sees the pictures the smallest rung will.
  const graph = windows.map((_, k) => `[${k}:v:0]fps=${ladder.fps},scale=${smallest.width}:${smallest.height}:flags=bicubic,setsar=1,format=yuv420p[p${k}]`);
  const labels = windows.map((_, k) => `[p${k}]`).join('');
  graph.push(windows.length > 1 ? `${labels}concat=n=${windows.length}:v=1:a=0[out]` : `[p0]null[out]`);
  const g = String(ladder.gop_frames);
  args.push(
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[out]',
    '-an',
    '-sn',
    '-dn',
    '-c:v',
    'libx264',
    '-preset',
    probePreset(preset),
    '-profile:v',
    'high',
    '-crf',
    String(TARGET_CRF),
    '-g',
    g,
    '-keyint_min',
    g,
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,n_forced*${GOP_SECONDS})`,
    '-f',
    'h264',
    '-progress',
    'pipe:1',
    '-nostats',
    `file:${outFile}`,
  );
  return { args, width: smallest.width, height: smallest.height, fps: ladder.fps, windows };
}

export interface ComplexityOptions {
  inputPath: string;
  /** A scratch folder; the probe's output is written there and removed. */
  workDir: string;
  info: MediaInfo;
  preset: string;
  timeoutSeconds: number;
  tools?: MediaTools;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export async function probeComplexity(opts: ComplexityOptions): Promise<ContentComplexity | null> {
  if (!opts.info.has_video) return null;
  const outFile = path.join(opts.workDir, 'complexity.h264');
  const cmd = buildComplexityArgs({ inputPath: opts.inputPath, outFile, info: opts.info, preset: opts.preset });
  if (!cmd) return null;
  fs.mkdirSync(opts.workDir, { recursive: true });
  const sampledUs = cmd.windows.reduce((a, w) => a + w.seconds, 0) * 1e6;
  let frames = 0;
  try {
    const res = await runMediaTool({
      bin: (opts.tools ?? resolveMediaTools()).ffmpeg,
      args: cmd.args,
      timeoutSeconds: opts.timeoutSeconds,
      signal: opts.signal,
      onStdoutLine: (line) => {
        const [key, value] = line.split('=', 2);
        if (key === 'frame' && /^\d+$/.test(value ?? '')) frames = Math.max(frames, Number(value));
        else if (key === 'out_time_us' && /^\d+$/.test(value ?? '') && sampledUs > 0) {
          try {
            opts.onProgress?.(Math.min(1, Number(value) / sampledUs));
          } catch {
            // Listener errors are the caller's concern.
          }
        }
      },
    });
    if (res.code !== 0) throw new MediaError('ffmpeg_failed', 'Analysing the video failed: ffmpeg stopped with an error.', res.stderr);
    const bytes = fs.statSync(outFile).size;
    if (frames <= 0 || bytes <= 0) throw new MediaError('ffmpeg_failed', 'Analysing the video failed: no frame could be encoded.', res.stderr);
    return {
      bits_per_pixel: (bytes * 8) / (frames * cmd.width * cmd.height),
      width: cmd.width,
      height: cmd.height,
      frames,
      seconds_sampled: Math.round((sampledUs / 1e6) * 1000) / 1000,
      crf: TARGET_CRF,
    };
  } finally {
    fs.rmSync(outFile, { force: true });
  }
}
