// The one place a stored video becomes its JSON shape (see VideoSchema in videos.schemas.ts).
import { publicPath } from './videos.keys.js';
import type { StoredRendition, VideoRow } from './videos.repository.js';

/** Absolute URL of a public object of a video, served by the media route (signed for a private video). */
export function mediaUrl(base: string, videoId: string, key: string | null, token?: string): string | null {
  if (!key) return null;
  const p = publicPath(videoId, key);
  if (!p) return null;
  return `${base}/api/v1/videos/${videoId}/media/${p}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

export function renditionsOf(v: VideoRow, base: string, token?: string) {
  const list = v.renditions ? (JSON.parse(v.renditions) as StoredRendition[]) : [];
  return list.map((r) => ({
    height: r.height,
    width: r.width,
    bandwidth: r.bandwidth,
    average_bandwidth: r.average_bandwidth,
    codecs: r.codecs,
    frame_rate: r.frame_rate,
    playlist_url: mediaUrl(base, v.id, r.playlist, token) ?? '',
    bytes: r.bytes ?? null,
    quality: r.quality ? { ssim: r.quality.ssim, psnr: r.quality.psnr, ssim_p10: r.quality.ssim_p10 } : null,
  }));
}

function encodingOf(v: VideoRow): { mode: 'per_title' | 'fixed' } | null {
  const mode = v.encoding_mode;
  return mode === 'per_title' || mode === 'fixed' ? { mode } : null;
}

export function videoJson(v: VideoRow, base: string, token?: string) {
  const ready = v.status === 'ready';
  return {
    id: v.id,
    owner_id: v.owner_id,
    title: v.title,
    description: v.description,
    status: v.status,
    visibility: v.visibility,
    tags: JSON.parse(v.tags) as string[],
    duration_seconds: v.duration_seconds,
    width: v.width,
    height: v.height,
    fps: v.fps,
    has_audio: v.has_audio === null ? null : Boolean(v.has_audio),
    size_bytes: v.source_size,
    source_stream_id: v.source_stream_id,
    renditions: ready ? renditionsOf(v, base, token) : [],
    encoding: ready ? encodingOf(v) : null,
    manifest_url: ready ? mediaUrl(base, v.id, v.manifest_key, token) : null,
    thumbnail_url: ready ? mediaUrl(base, v.id, v.thumbnail_key, token) : null,
    storyboard_url: ready ? mediaUrl(base, v.id, v.storyboard_vtt_key, token) : null,
    error: v.error,
    created_at: v.created_at,
    updated_at: v.updated_at,
    ready_at: v.ready_at,
    hidden: v.hidden_at ? { at: v.hidden_at, reason: v.hidden_reason ?? '' } : null,
  };
}
