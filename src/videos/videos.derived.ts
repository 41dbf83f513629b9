// Videos made from other media without the transcode pipeline (clips cut by copying segments):
// the caller has stored the HLS outputs under the video's run; this inserts the row as `ready`
// with its `video.ready` event in one transaction, like a transcode that just finished.
import { appendEvent } from '../events/outbox.repository.js';
import type { Executor } from '../infra/db/database.js';
import type { StoredRendition, VideoRow, Visibility } from './videos.repository.js';
import type { VideosService } from './videos.service.js';
import { runPrefix, videoPrefix } from './videos.keys.js';

export interface DerivedVideo {
  id: string;
  ownerId: string;
  title: string;
  description?: string;
  runId: string;
  renditions: StoredRendition[];
  manifestKey: string;
  thumbnailKey: string | null;
  durationSeconds: number;
  width: number | null;
  height: number | null;
  fps: number | null;
  hasAudio: boolean;
  videoCodec: string | null;
  audioCodec: string | null;
  sizeBytes: number;
  sourceStreamId: string | null;
  /** How the copied segments were encoded (a clip of a VOD video keeps its source's mode). */
  encodingMode?: string | null;
  /** A clip of a private or unlisted video is as private or unlisted as its source. */
  visibility?: Visibility;
}

/** Where a derived video's outputs go before its row exists. */
export function derivedRunPrefix(videoId: string, runId: string): string {
  return runPrefix(videoId, runId);
}

/**
 * Inserts a ready video whose outputs are already stored; `alsoInTransaction` records what it was
 * made from (its owner's table) in the same transaction. On failure the stored outputs are removed.
 */
export async function publishDerivedVideo(videos: VideosService, d: DerivedVideo, alsoInTransaction?: (trx: Executor) => Promise<void>): Promise<VideoRow> {
  const now = new Date().toISOString();
  const row: VideoRow = {
    id: d.id,
    owner_id: d.ownerId,
    title: d.title,
    description: d.description ?? '',
    status: 'ready',
    source_key: null,
    source_size: d.sizeBytes,
    source_stream_id: d.sourceStreamId,
    upload_id: null,
    duration_seconds: d.durationSeconds,
    width: d.width,
    height: d.height,
    fps: d.fps,
    has_audio: d.hasAudio ? 1 : 0,
    video_codec: d.videoCodec,
    audio_codec: d.audioCodec,
    run_id: d.runId,
    renditions: JSON.stringify(d.renditions),
    manifest_key: d.manifestKey,
    thumbnail_key: d.thumbnailKey,
    storyboard_key: null,
    storyboard_vtt_key: null,
    playable_key: null,
    stage: null,
    progress: 100,
    error: null,
    created_at: now,
    updated_at: now,
    ready_at: now,
    encoding_mode: d.encodingMode ?? null,
    visibility: d.visibility ?? 'public',
    tags: '[]',
    hidden_at: null,
    hidden_reason: null,
  };
  try {
    await videos.repo.kysely.transaction().execute(async (trx) => {
      await videos.repo.insert(trx, row);
      await alsoInTransaction?.(trx);
      await appendEvent(trx, 'video.ready', row.id, { video_id: row.id, owner_id: row.owner_id, duration_seconds: d.durationSeconds, renditions: d.renditions.length, timestamp: now });
    });
  } catch (err) {
    await videos.storage.deletePrefix(videoPrefix(d.id)).catch(() => {});
    throw err;
  }
  await videos.publishSnapshot(row.id);
  return row;
}
