// Public shapes of the VOD media toolkit: what probing returns, what the ladder plans and what a
// transcode produces. The pipeline codes against these; everything ffmpeg-specific stays in src/media.
// Field names are snake_case where they end up in JSON (API renditions, job results).

/** What ffprobe tells us about an input, after validation. */
export interface MediaInfo {
  duration_seconds: number;
  /** Display size: width/height are swapped when the stream carries a ±90° rotation. */
  width: number;
  height: number;
  /** Clockwise degrees the player must rotate the coded picture: 0, 90, 180 or 270. */
  rotation: number;
  fps: number;
  video_codec: string | null;
  pix_fmt: string | null;
  bit_depth: number | null;
  audio_codec: string | null;
  has_video: boolean;
  has_audio: boolean;
  /** ffprobe's demuxer name (e.g. "mov,mp4,m4a,3gp,3g2,mj2"); the transcode pins the demuxer to it. */
  format_name: string;
  size_bytes: number;
}

export interface ProbeOptions {
  maxDurationSeconds: number;
  maxPixels: number;
  timeoutSeconds: number;
  tools?: MediaTools;
  signal?: AbortSignal;
}

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}

/** One video rung of the ladder (display orientation). */
export interface VideoRung {
  /** Ladder tier name by short side, e.g. "1080p", or the source's own size below 360p. */
  name: string;
  width: number;
  height: number;
  /** The short side, i.e. the tier (1080, 720, 480, 360 or the source's own). */
  tier: number;
  /** Today's contract bitrate of the tier: the ABR target in fixed mode, the VBV cap in per-title mode. */
  video_kbps: number;
  /** abr: x264 aims at video_kbps. crf: constant quality (crf) under a maxrate/bufsize cap. */
  rate_control: 'abr' | 'crf';
  crf: number | null;
  /** What the complexity probe expects the rung to need at the target quality (per-title mode only). */
  predicted_kbps: number | null;
  maxrate_kbps: number;
  bufsize_kbps: number;
  /** Nominal HLS BANDWIDTH (peak, bits/s) of this variant with its audio, before anything is measured. */
  bandwidth: number;
  /** Nominal HLS AVERAGE-BANDWIDTH (bits/s) of this variant with its audio. */
  average_bandwidth: number;
}

export interface AudioRung {
  audio_kbps: number;
  sample_rate: number;
  channels: number;
  /** Nominal BANDWIDTH / AVERAGE-BANDWIDTH of the audio alone (the variant of an audio-only source). */
  bandwidth: number;
  average_bandwidth: number;
}

export type EncodingMode = 'per_title' | 'fixed';

/** What the complexity probe measured: bits the content needs at the target quality, at a small size. */
export interface ContentComplexity {
  /** Bits per pixel per frame of the probe encode (constant quality, all frame types). */
  bits_per_pixel: number;
  width: number;
  height: number;
  frames: number;
  seconds_sampled: number;
  crf: number;
}

/** A rendition's measured picture quality against the source scaled to its size. */
export interface RenditionQuality {
  /** Mean of the per-frame SSIM (all planes). */
  ssim: number;
  /** PSNR (dB) of the mean squared error over all frames; 100 for an identical picture. */
  psnr: number;
  /** 10th percentile of the per-frame SSIM: the worst decile starts here. */
  ssim_p10: number;
  frames: number;
}

export interface LadderPlan {
  mode: EncodingMode;
  video: VideoRung[];
  audio: AudioRung | null;
  /** Output frame rate: the source's, capped at 60 (0 for audio-only). */
  fps: number;
  /** Frames per GOP (~2 s) so keyframes line up across renditions and segment boundaries. */
  gop_frames: number;
  segment_seconds: number;
}

export interface RenditionResult {
  /** 0 for the audio-only rendition. */
  height: number;
  width: number;
  /** Peak bits per second (video + audio), measured over the produced segments. */
  bandwidth: number;
  /** Average bits per second (video + audio), measured over the produced segments. */
  average_bandwidth: number;
  /** RFC 6381 codecs string, e.g. "avc1.64001f,mp4a.40.2". */
  codecs: string;
  frame_rate: number | null;
  /** Media playlist path relative to outDir, e.g. "v0/index.m3u8". */
  playlist: string;
  /** Bytes of this rendition's own segments (the shared audio group is not counted in video renditions). */
  bytes: number;
  /** Filled by measureQuality; null for the audio-only rendition. */
  quality: RenditionQuality | null;
}

export interface TranscodeOptions {
  inputPath: string;
  outDir: string;
  info: MediaInfo;
  /** x264 preset; the config's FFMPEG_PRESET. */
  preset: string;
  timeoutSeconds: number;
  /** Defaults to planLadder(info). */
  ladder?: LadderPlan;
  /** Fraction done, 0..1, never decreasing within one call. */
  onProgress?: (fraction: number) => void;
  /** Fires once, when every rendition has its first segment: the master playlist is valid (EVENT). */
  onPlayable?: (masterPlaylistPath: string) => void;
  tools?: MediaTools;
  signal?: AbortSignal;
}

export interface TranscodeResult {
  renditions: RenditionResult[];
  /** Master playlist path relative to outDir. */
  master: string;
  /** Every file written, relative to outDir, playlists included. */
  files: string[];
}

export interface ThumbnailOptions {
  inputPath: string;
  outDir: string;
  info: MediaInfo;
  timeoutSeconds: number;
  /** Width of one storyboard tile in pixels (height follows the aspect ratio). */
  tileWidth?: number;
  /** Seconds between storyboard tiles; by default chosen so the sprite holds at most 100 tiles. */
  intervalSeconds?: number;
  tools?: MediaTools;
  signal?: AbortSignal;
}

export interface ThumbnailResult {
  /** Relative to outDir. */
  poster: string;
  sprite: string;
  vtt: string;
  files: string[];
}
