// The contract's HLS ladder, chosen from probed MediaInfo. Pure: no ffmpeg, unit-tested directly.
// Tiers go by the short side so portrait videos keep their orientation, and never upscale.
import type { AudioRung, ContentComplexity, LadderPlan, MediaInfo, VideoRung } from './media.types.js';
import { perTitleLadder } from './per-title.js';

/** API.md: 1080p @ 5000 kbps, 720p @ 2500, 480p @ 1200, 360p @ 600 (video bitrates). */
export const LADDER_TIERS: ReadonlyArray<{ tier: number; video_kbps: number }> = [
  { tier: 1080, video_kbps: 5000 },
  { tier: 720, video_kbps: 2500 },
  { tier: 480, video_kbps: 1200 },
  { tier: 360, video_kbps: 600 },
];

export const MAX_FPS = 60;
export const GOP_SECONDS = 2;
export const SEGMENT_SECONDS = 6;
export const AUDIO_KBPS = 128;
/** Apple's authoring guide asks for peaks within 110 % of the average for VOD. */
export const MAXRATE_FACTOR = 1.1;
export const BUFSIZE_FACTOR = 2;
/** MPEG-TS packetisation and PES headers add a few percent on top of the elementary streams. */
export const CONTAINER_OVERHEAD = 1.06;
/** Below 360p the rung's bitrate scales with its pixel count relative to 640×360, but not below this. */
const MIN_SMALL_KBPS = 150;

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
const evenDown = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Frame rate above 60 is divided by the smallest whole number that brings it to 60 or below
 * (120 → 60, 100 → 50, 144 → 48), which drops frames evenly instead of juddering at a fixed 60.
 */
export function outputFps(sourceFps: number): number {
  if (!Number.isFinite(sourceFps) || sourceFps <= 0) return 30;
  const divisor = Math.ceil(sourceFps / MAX_FPS - 1e-9);
  return Math.round((sourceFps / Math.max(1, divisor)) * 1000) / 1000;
}

function audioRung(): AudioRung {
  const bps = AUDIO_KBPS * 1000 * CONTAINER_OVERHEAD;
  return { audio_kbps: AUDIO_KBPS, sample_rate: 48_000, channels: 2, bandwidth: Math.round(bps), average_bandwidth: Math.round(bps) };
}

function rung(name: string, width: number, height: number, tier: number, videoKbps: number, audio: AudioRung | null): VideoRung {
  const maxrate = Math.round(videoKbps * MAXRATE_FACTOR);
  const audioKbps = audio?.audio_kbps ?? 0;
  return {
    name,
    width,
    height,
    tier,
    video_kbps: videoKbps,
    rate_control: 'abr',
    crf: null,
    predicted_kbps: null,
    maxrate_kbps: maxrate,
    bufsize_kbps: Math.round(videoKbps * BUFSIZE_FACTOR),
    bandwidth: Math.round((maxrate + audioKbps) * 1000 * CONTAINER_OVERHEAD),
    average_bandwidth: Math.round((videoKbps + audioKbps) * 1000 * CONTAINER_OVERHEAD),
  };
}

/**
 * The fixed ladder (the contract's bitrates), or with a complexity probe's result the per-title one:
 * the same rungs, each with capped constant-quality rate control where the content needs less.
 */
export function planLadder(info: MediaInfo, complexity?: ContentComplexity | null): LadderPlan {
  const fixed = planFixedLadder(info);
  return complexity ? perTitleLadder(fixed, complexity) : fixed;
}

function planFixedLadder(info: MediaInfo): LadderPlan {
  const audio = info.has_audio ? audioRung() : null;
  if (!info.has_video || info.width <= 0 || info.height <= 0) {
    return { mode: 'fixed', video: [], audio, fps: 0, gop_frames: 0, segment_seconds: SEGMENT_SECONDS };
  }
  const portrait = info.height > info.width;
  const short = Math.min(info.width, info.height);
  const long = Math.max(info.width, info.height);
  const sized = (s: number, l: number) => (portrait ? { width: s, height: l } : { width: l, height: s });

  const video: VideoRung[] = [];
  for (const t of LADDER_TIERS) {
    if (t.tier > short) continue;
    // The long side follows the source's aspect ratio, made even for 4:2:0 and never above the source.
    const l = Math.min(even((t.tier * long) / short), evenDown(long));
    const { width, height } = sized(t.tier, l);
    video.push(rung(`${t.tier}p`, width, height, t.tier, t.video_kbps, audio));
  }
  if (video.length === 0) {
    const s = evenDown(short);
    const l = evenDown(long);
    const { width, height } = sized(s, l);
    const kbps = Math.max(MIN_SMALL_KBPS, Math.round((600 * width * height) / (640 * 360)));
    video.push(rung(`${s}p`, width, height, s, kbps, audio));
  }
  const fps = outputFps(info.fps);
  return { mode: 'fixed', video, audio, fps, gop_frames: Math.max(1, Math.round(fps * GOP_SECONDS)), segment_seconds: SEGMENT_SECONDS };
}
