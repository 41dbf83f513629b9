// Quality receipts: one ffmpeg pass decodes the source once more (same frame rate and scaler as the
// ladder) and every produced rendition, and compares them frame by frame with ffmpeg's ssim and psnr
// filters. ffmpeg 5 cannot decode its own encoder output within the ladder run, hence the second pass.
import fs from 'node:fs';
import path from 'node:path';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import { runMediaTool, safeInputArgs } from './ffmpeg.process.js';
import { pinnedDemuxer } from './hls.args.js';
import { MediaError } from './media.errors.js';
import { ALLOWED_DEMUXERS } from './probe.js';
import type { LadderPlan, MediaInfo, MediaTools, RenditionQuality, RenditionResult } from './media.types.js';

/** Reported for a frame identical to the reference, where PSNR is infinite. */
export const PSNR_IDENTICAL = 100;

export interface QualityTarget {
  /** Absolute path of the rendition's media playlist. */
  playlist: string;
  width: number;
  height: number;
}

export interface QualityArgsInput {
  inputPath: string;
  info: MediaInfo;
  ladder: LadderPlan;
  targets: QualityTarget[];
}

/** Stats files are named relative to the run's working folder: q<i>.ssim and q<i>.psnr. */
export function buildQualityArgs({ inputPath, info, ladder, targets }: QualityArgsInput): string[] {
  if (targets.length === 0) throw new Error('no rendition to measure');
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];
  args.push(...safeInputArgs(ALLOWED_DEMUXERS), '-f', pinnedDemuxer(info.format_name), '-i', `file:${inputPath}`);
  for (const t of targets) args.push('-protocol_whitelist', 'file', '-format_whitelist', 'hls,mpegts', '-f', 'hls', '-i', `file:${t.playlist}`);

  const n = targets.length;
  const refs = targets.map((_, i) => `[r${i}]`).join('');
  // Frames are paired by their index (setpts=N on both sides), not by timestamp: the renditions'
  // MPEG-TS clock starts later than the source's, and rounding must not pair neighbouring frames.
  const graph = [`[0:v:0]fps=${ladder.fps},split=${n}${refs}`];
  targets.forEach((t, i) => {
    graph.push(`[r${i}]scale=${t.width}:${t.height}:flags=bicubic,setsar=1,format=yuv420p,settb=1/1000,setpts=N,split=2[ra${i}][rb${i}]`);
    graph.push(`[${i + 1}:v:0]format=yuv420p,setsar=1,settb=1/1000,setpts=N[d${i}]`);
    graph.push(`[d${i}][ra${i}]ssim=stats_file=q${i}.ssim:shortest=1[m${i}]`);
    graph.push(`[m${i}][rb${i}]psnr=stats_file=q${i}.psnr:shortest=1[o${i}]`);
  });
  args.push('-filter_complex', graph.join(';'));
  targets.forEach((_, i) => args.push('-map', `[o${i}]`));
  args.push('-an', '-sn', '-dn', '-f', 'null', '-progress', 'pipe:1', '-nostats', '-');
  return args;
}

/** Per-frame SSIM ("All:") from an ssim stats file. */
export function parseSsimStats(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/\bAll:([\d.]+|inf)/g)) out.push(m[1] === 'inf' ? 1 : Number(m[1]));
  return out.filter((v) => Number.isFinite(v));
}

/** Per-frame mean squared error (all planes) from a psnr stats file. */
export function parsePsnrStats(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/\bmse_avg:([\d.]+)/g)) out.push(Number(m[1]));
  return out.filter((v) => Number.isFinite(v));
}

/** Summary of one rendition; PSNR from the mean MSE so identical frames do not make it infinite. */
export function summarizeQuality(ssim: number[], mse: number[]): RenditionQuality | null {
  if (ssim.length === 0 || mse.length === 0) return null;
  const mean = ssim.reduce((a, v) => a + v, 0) / ssim.length;
  const sorted = [...ssim].sort((a, b) => a - b);
  const p10 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.1))];
  const meanMse = mse.reduce((a, v) => a + v, 0) / mse.length;
  const psnr = meanMse <= 0 ? PSNR_IDENTICAL : Math.min(PSNR_IDENTICAL, 10 * Math.log10((255 * 255) / meanMse));
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  return { ssim: round(mean, 6), psnr: round(psnr, 3), ssim_p10: round(p10, 6), frames: ssim.length };
}

export interface QualityOptions {
  inputPath: string;
  /** The transcode's output folder (the renditions' playlists are relative to it). */
  hlsDir: string;
  /** A scratch folder for the stats files, outside hlsDir so they are never published. */
  workDir: string;
  info: MediaInfo;
  ladder: LadderPlan;
  renditions: RenditionResult[];
  timeoutSeconds: number;
  tools?: MediaTools;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/** The renditions with `quality` filled in (the audio-only one keeps null). */
export async function measureQuality(opts: QualityOptions): Promise<RenditionResult[]> {
  const video = opts.renditions.map((r, i) => ({ r, i })).filter(({ r }) => r.height > 0 && r.width > 0);
  if (video.length === 0 || !opts.info.has_video) return opts.renditions;
  const targets = video.map(({ r }) => ({ playlist: path.join(opts.hlsDir, r.playlist), width: r.width, height: r.height }));
  fs.mkdirSync(opts.workDir, { recursive: true });
  const durationUs = opts.info.duration_seconds * 1e6;
  try {
    const res = await runMediaTool({
      bin: (opts.tools ?? resolveMediaTools()).ffmpeg,
      args: buildQualityArgs({ inputPath: opts.inputPath, info: opts.info, ladder: opts.ladder, targets }),
      cwd: opts.workDir,
      timeoutSeconds: opts.timeoutSeconds,
      signal: opts.signal,
      onStdoutLine: (line) => {
        const [key, value] = line.split('=', 2);
        if (key !== 'out_time_us' || !/^\d+$/.test(value ?? '') || durationUs <= 0) return;
        try {
          opts.onProgress?.(Math.min(1, Number(value) / durationUs));
        } catch {
          // Listener errors are the caller's concern.
        }
      },
    });
    if (res.code !== 0) throw new MediaError('ffmpeg_failed', "Measuring the renditions' quality failed: ffmpeg stopped with an error.", res.stderr);
    const out = [...opts.renditions];
    video.forEach(({ r, i }, k) => {
      const read = (ext: string) => fs.readFileSync(path.join(opts.workDir, `q${k}.${ext}`), 'utf8');
      const quality = summarizeQuality(parseSsimStats(read('ssim')), parsePsnrStats(read('psnr')));
      if (!quality) throw new MediaError('ffmpeg_failed', "Measuring the renditions' quality failed: no frame was compared.", res.stderr);
      out[i] = { ...r, quality };
    });
    return out;
  } finally {
    fs.rmSync(opts.workDir, { recursive: true, force: true });
  }
}
