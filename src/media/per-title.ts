// Per-title rate control, pure: from the complexity probe's bits per pixel, predict what each rung
// needs at the one target quality (TARGET_CRF) and give it a capped constant-quality encode when that
// is clearly below the contract's bitrate; rungs the content would saturate keep today's ABR settings.
import { BUFSIZE_FACTOR, CONTAINER_OVERHEAD } from './ladder.js';
import type { ContentComplexity, LadderPlan, VideoRung } from './media.types.js';

/** The quality every video is encoded to, whatever its content (x264 CRF; its default, 23). */
export const TARGET_CRF = 23;
/**
 * Bits per pixel fall as the picture grows (neighbouring pixels are more alike): a rung's bits scale
 * with pixels^(1 - PIXEL_EXPONENT_DISCOUNT) from the probe's size. Measured on the bench sources.
 */
export const PIXEL_EXPONENT_DISCOUNT = 0.25;
/**
 * Constant quality only where the prediction leaves this much headroom under the contract's
 * bitrate: near the cap, a VBV-limited CRF encode would look no better than ABR and could cost more.
 */
export const CRF_BELOW_FRACTION = 0.8;

/** Expected video kbit/s of a rung of `pixels` at `fps` frames a second, at the probe's CRF. */
export function predictKbps(c: ContentComplexity, pixels: number, fps: number): number {
  const probePixels = c.width * c.height;
  if (probePixels <= 0 || pixels <= 0 || fps <= 0) return 0;
  const bitsPerFrame = c.bits_per_pixel * probePixels * (pixels / probePixels) ** (1 - PIXEL_EXPONENT_DISCOUNT);
  return (bitsPerFrame * fps) / 1000;
}

function perTitleRung(r: VideoRung, predicted: number, audioKbps: number): VideoRung {
  const rounded = Math.round(predicted);
  if (predicted > r.video_kbps * CRF_BELOW_FRACTION) return { ...r, predicted_kbps: rounded };
  // The cap is the contract's average bitrate, below today's maxrate, so no rung ever peaks higher
  // than the fixed ladder allows and its average cannot exceed the fixed ladder's.
  const maxrate = r.video_kbps;
  return {
    ...r,
    rate_control: 'crf',
    crf: TARGET_CRF,
    predicted_kbps: rounded,
    maxrate_kbps: maxrate,
    bufsize_kbps: Math.round(r.video_kbps * BUFSIZE_FACTOR),
    bandwidth: Math.round((maxrate + audioKbps) * 1000 * CONTAINER_OVERHEAD),
    average_bandwidth: Math.round((Math.min(rounded, maxrate) + audioKbps) * 1000 * CONTAINER_OVERHEAD),
  };
}

export function perTitleLadder(fixed: LadderPlan, c: ContentComplexity): LadderPlan {
  const audioKbps = fixed.audio?.audio_kbps ?? 0;
  const video = fixed.video.map((r) => perTitleRung(r, predictKbps(c, r.width * r.height, fixed.fps), audioKbps));
  return { ...fixed, mode: 'per_title', video };
}
