// Poster and storyboard for a video: a JPEG poster ~10 % in, and one sprite JPEG of small tiles with
// a WebVTT file whose cues point at each tile (#xywh=), which players use for scrubbing previews.
// The storyboard decodes keyframes only (-skip_frame nokey), so it costs far less than a transcode.
import fs from 'node:fs';
import path from 'node:path';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import { runMediaTool, safeInputArgs } from './ffmpeg.process.js';
import { DURATION_TOLERANCE_SECONDS, pinnedDemuxer } from './hls.args.js';
import { ALLOWED_DEMUXERS } from './probe.js';
import { MediaError } from './media.errors.js';
import type { MediaInfo, ThumbnailOptions, ThumbnailResult } from './media.types.js';

export const POSTER_FILE = 'poster.jpg';
export const SPRITE_FILE = 'storyboard.jpg';
export const VTT_FILE = 'storyboard.vtt';
const MAX_TILES = 100;
const COLUMNS = 10;
const POSTER_MAX_WIDTH = 1280;

export interface StoryboardLayout {
  interval: number;
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** Tile grid for a video: at most MAX_TILES tiles, interval a whole number of seconds. */
export function storyboardLayout(info: MediaInfo, tileWidth = 160, intervalSeconds?: number): StoryboardLayout {
  const interval = intervalSeconds ?? Math.max(1, Math.ceil(info.duration_seconds / MAX_TILES));
  const count = Math.max(1, Math.min(MAX_TILES, Math.ceil(info.duration_seconds / interval)));
  const columns = Math.min(COLUMNS, count);
  const tileHeight = Math.max(2, Math.round((tileWidth * info.height) / Math.max(1, info.width) / 2) * 2);
  return { interval, count, columns, rows: Math.ceil(count / columns), tileWidth, tileHeight };
}

function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** WebVTT cues, one per tile, each naming its rectangle in the sprite (Media Fragments #xywh). */
export function storyboardVtt(layout: StoryboardLayout, durationSeconds: number, spriteUri: string): string {
  const out = ['WEBVTT', ''];
  for (let i = 0; i < layout.count; i++) {
    const start = i * layout.interval;
    const end = Math.min((i + 1) * layout.interval, durationSeconds);
    if (end <= start) break;
    const x = (i % layout.columns) * layout.tileWidth;
    const y = Math.floor(i / layout.columns) * layout.tileHeight;
    out.push(`${vttTime(start)} --> ${vttTime(end)}`, `${spriteUri}#xywh=${x},${y},${layout.tileWidth},${layout.tileHeight}`, '');
  }
  return out.join('\n');
}

async function ffmpeg(bin: string, args: string[], opts: ThumbnailOptions, what: string): Promise<void> {
  const res = await runMediaTool({ bin, args, timeoutSeconds: opts.timeoutSeconds, signal: opts.signal });
  if (res.code !== 0) throw new MediaError('ffmpeg_failed', `The ${what} could not be made from this video.`, res.stderr);
}

/** Returns null for audio-only inputs, which have no picture to show. */
export async function generateThumbnails(opts: ThumbnailOptions): Promise<ThumbnailResult | null> {
  const { info } = opts;
  if (!info.has_video) return null;
  const tools = opts.tools ?? resolveMediaTools();
  fs.mkdirSync(opts.outDir, { recursive: true });
  const input = [...safeInputArgs(ALLOWED_DEMUXERS), '-f', pinnedDemuxer(info.format_name)];
  const base = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];

  // Input-side seek lands on the nearest keyframe before the time: fast, and near enough for a poster.
  const at = Math.max(0, Math.min(info.duration_seconds * 0.1, info.duration_seconds - 0.1));
  await ffmpeg(
    tools.ffmpeg,
    [
      ...base,
      '-ss',
      at.toFixed(3),
      ...input,
      '-i',
      `file:${opts.inputPath}`,
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-vf',
      `scale='min(${POSTER_MAX_WIDTH},iw)':-2,format=yuvj420p`,
      '-q:v',
      '3',
      '-f',
      'image2',
      '-update',
      '1',
      path.join(opts.outDir, POSTER_FILE),
    ],
    opts,
    'poster',
  );

  const layout = storyboardLayout(info, opts.tileWidth, opts.intervalSeconds);
  await ffmpeg(
    tools.ffmpeg,
    [
      ...base,
      '-skip_frame',
      'nokey',
      ...input,
      '-i',
      `file:${opts.inputPath}`,
      // Never more than the declared length: a file holding more (concatenated copies) is not read to its end.
      '-t',
      (info.duration_seconds + 2 * DURATION_TOLERANCE_SECONDS).toFixed(3),
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-vf',
      `fps=1/${layout.interval}:round=down:eof_action=pass,scale=${layout.tileWidth}:${layout.tileHeight},setsar=1,tile=${layout.columns}x${layout.rows},format=yuvj420p`,
      '-frames:v',
      '1',
      '-q:v',
      '5',
      '-f',
      'image2',
      '-update',
      '1',
      path.join(opts.outDir, SPRITE_FILE),
    ],
    opts,
    'storyboard',
  );
  fs.writeFileSync(path.join(opts.outDir, VTT_FILE), storyboardVtt(layout, info.duration_seconds, SPRITE_FILE));
  return { poster: POSTER_FILE, sprite: SPRITE_FILE, vtt: VTT_FILE, files: [POSTER_FILE, SPRITE_FILE, VTT_FILE] };
}
