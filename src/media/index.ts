// The VOD media toolkit: everything ffmpeg/ffprobe for uploaded videos (probe, ladder, one-decode HLS
// transcode, poster and storyboard). The pipeline uses createMediaToolkit(config), which binds the
// configured binaries, preset, timeout and input limits; the pure pieces are exported for tests.
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import { bundledToolsInUse, resolveMediaTools } from './ffmpeg.binaries.js';
import { MediaError } from './media.errors.js';
import { probeComplexity, type ComplexityOptions } from './complexity.js';
import { planLadder } from './ladder.js';
import { measureQuality, type QualityOptions } from './quality.js';
import { probeMedia } from './probe.js';
import { generateThumbnails } from './thumbnails.js';
import { transcodeToHls } from './transcoder.js';
import type { ContentComplexity, EncodingMode, LadderPlan, MediaInfo, MediaTools, RenditionResult, ThumbnailOptions, ThumbnailResult, TranscodeOptions, TranscodeResult } from './media.types.js';

export * from './media.types.js';
export { MediaError, type MediaErrorCode } from './media.errors.js';
export { resolveMediaTools, bundledToolsInUse } from './ffmpeg.binaries.js';
export { probeMedia, ALLOWED_DEMUXERS } from './probe.js';
export { planLadder, outputFps, LADDER_TIERS, GOP_SECONDS, SEGMENT_SECONDS } from './ladder.js';
export { transcodeToHls, MASTER_PLAYLIST } from './transcoder.js';
export { probeComplexity, buildComplexityArgs, sampleWindows } from './complexity.js';
export { perTitleLadder, predictKbps, TARGET_CRF } from './per-title.js';
export { measureQuality, buildQualityArgs, summarizeQuality } from './quality.js';
export { generateThumbnails, POSTER_FILE, SPRITE_FILE, VTT_FILE } from './thumbnails.js';

export interface MediaToolkit {
  /** Resolved lazily on first use, so a server without ffmpeg still starts (jobs then fail with a reason). */
  tools(): MediaTools;
  /** ffprobe + validation against the configured limits; throws MediaError with a human-readable reason. */
  probe(inputPath: string, signal?: AbortSignal): Promise<MediaInfo>;
  /** ENCODING_MODE: whether the pipeline probes complexity before planning. */
  readonly encodingMode: EncodingMode;
  /** Complexity probe (per-title mode); null in fixed mode or without video. */
  complexity(opts: Omit<ComplexityOptions, 'preset' | 'timeoutSeconds' | 'tools'>): Promise<ContentComplexity | null>;
  /** The ladder for a probed input (pure): per-title when a complexity result is given. */
  plan(info: MediaInfo, complexity?: ContentComplexity | null): LadderPlan;
  /** One ffmpeg process for the whole ladder; preset and timeout default to the config's. */
  transcodeToHls(opts: Omit<TranscodeOptions, 'preset' | 'timeoutSeconds' | 'tools'> & Partial<Pick<TranscodeOptions, 'preset' | 'timeoutSeconds'>>): Promise<TranscodeResult>;
  /** Quality receipts: SSIM/PSNR of every video rendition against the source scaled to its size. */
  measureQuality(opts: Omit<QualityOptions, 'timeoutSeconds' | 'tools'>): Promise<RenditionResult[]>;
  /** Poster JPEG (~10 % in) and storyboard sprite + WebVTT; null for audio-only inputs. */
  thumbnails(opts: Omit<ThumbnailOptions, 'timeoutSeconds' | 'tools'> & Partial<Pick<ThumbnailOptions, 'timeoutSeconds'>>): Promise<ThumbnailResult | null>;
}

export type MediaConfig = Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ffmpegAllowBundled' | 'ffmpegPreset' | 'encodingMode' | 'ffmpegTimeoutSeconds' | 'maxInputDurationSeconds' | 'maxInputPixels'>;

export function mediaToolsFor(config: Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ffmpegAllowBundled'>): MediaTools {
  return resolveMediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath, allowBundled: config.ffmpegAllowBundled });
}

/**
 * Says at start which ffmpeg will decode uploads: loudly when it is the old build shipped in the npm
 * packages (uploads are untrusted input), and as an error when none can be used, so an operator
 * learns it from the first lines of the log instead of from the first failed job.
 */
export function reportMediaTools(config: Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ffmpegAllowBundled'>, logger: Logger): void {
  let tools: MediaTools;
  try {
    tools = mediaToolsFor(config);
  } catch (err) {
    const reason = err instanceof MediaError ? err.reason : String(err);
    logger.error({ reason }, `ffmpeg unavailable, so video processing and live ingest will fail: ${reason}`);
    return;
  }
  for (const b of bundledToolsInUse(tools)) {
    logger.warn(
      { tool: b.tool, path: b.path, version: b.version, built: b.year },
      `${b.tool}: using the build bundled in ${b.packageName}, version ${b.version}${b.year ? ` (built ${b.year})` : ''}, to decode untrusted uploads; install a current ${b.tool} on PATH or set ${b.tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'} (NODE_ENV=production refuses it unless FFMPEG_ALLOW_BUNDLED=true)`,
    );
  }
}

/** Probing reads headers only: it gets a short leash even when transcodes may run for hours. */
const PROBE_TIMEOUT_SECONDS = 120;

export function createMediaToolkit(config: MediaConfig): MediaToolkit {
  let tools: MediaTools | undefined;
  const get = () => (tools ??= mediaToolsFor(config));
  return {
    tools: get,
    probe: (inputPath, signal) =>
      probeMedia(inputPath, {
        maxDurationSeconds: config.maxInputDurationSeconds,
        maxPixels: config.maxInputPixels,
        timeoutSeconds: Math.min(PROBE_TIMEOUT_SECONDS, config.ffmpegTimeoutSeconds),
        tools: get(),
        signal,
      }),
    encodingMode: config.encodingMode,
    complexity: async (opts) => (config.encodingMode === 'per_title' ? probeComplexity({ ...opts, preset: config.ffmpegPreset, timeoutSeconds: config.ffmpegTimeoutSeconds, tools: get() }) : null),
    plan: planLadder,
    measureQuality: (opts) => measureQuality({ ...opts, timeoutSeconds: config.ffmpegTimeoutSeconds, tools: get() }),
    transcodeToHls: (opts) => transcodeToHls({ ...opts, preset: opts.preset ?? config.ffmpegPreset, timeoutSeconds: opts.timeoutSeconds ?? config.ffmpegTimeoutSeconds, tools: get() }),
    thumbnails: (opts) => generateThumbnails({ ...opts, timeoutSeconds: opts.timeoutSeconds ?? config.ffmpegTimeoutSeconds, tools: get() }),
  };
}
