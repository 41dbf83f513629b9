// The VOD media toolkit: everything ffmpeg/ffprobe for uploaded videos (probe, ladder, one-decode HLS
// transcode, poster and storyboard). The pipeline uses createMediaToolkit(config), which binds the
// configured binaries, preset, timeout and input limits; the pure pieces are exported for tests.
import type { Config } from '../config.js';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import type {
  LadderPlan,
  MediaInfo,
  MediaTools,
  ThumbnailOptions,
  ThumbnailResult,
  TranscodeOptions,
  TranscodeResult,
} from './media.types.js';

export * from './media.types.js';
export { MediaError, type MediaErrorCode } from './media.errors.js';
export { resolveMediaTools } from './ffmpeg.binaries.js';

export interface MediaToolkit {
  /** Resolved lazily on first use, so a server without ffmpeg still starts (jobs then fail with a reason). */
  tools(): MediaTools;
  /** ffprobe + validation against the configured limits; throws MediaError with a human-readable reason. */
  probe(inputPath: string, signal?: AbortSignal): Promise<MediaInfo>;
  /** The ladder for a probed input (pure). */
  plan(info: MediaInfo): LadderPlan;
  /** One ffmpeg process for the whole ladder; preset and timeout default to the config's. */
  transcodeToHls(opts: Omit<TranscodeOptions, 'preset' | 'timeoutSeconds' | 'tools'> & Partial<Pick<TranscodeOptions, 'preset' | 'timeoutSeconds'>>): Promise<TranscodeResult>;
  /** Poster JPEG (~10 % in) and storyboard sprite + WebVTT. */
  thumbnails(opts: Omit<ThumbnailOptions, 'timeoutSeconds' | 'tools'> & Partial<Pick<ThumbnailOptions, 'timeoutSeconds'>>): Promise<ThumbnailResult>;
}

export type MediaConfig = Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ffmpegPreset' | 'ffmpegTimeoutSeconds' | 'maxInputDurationSeconds' | 'maxInputPixels'>;

export function mediaToolsFor(config: MediaConfig): MediaTools {
  return resolveMediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
}
