// Ready videos written straight into the videos table, for tests and benchmarks about what happens
// after processing (feed, trending, engagement, search, moderation): the upload pipeline would only
// add minutes of transcoding. One row shape as the pipeline leaves it; callers override what differs.
import type { Insertable, Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Tables } from '../../src/infra/db/schema.js';
import type { VideoStatus, VideoTable, Visibility } from '../../src/videos/videos.repository.js';
import type { TestNova } from './nova.js';

/** Every column a processed video has, named, so that callers can also index the row (search). */
export type ReadyVideoRow = Insertable<VideoTable> & { id: string; status: VideoStatus; created_at: string; visibility: Visibility; tags: string };

/**
 * A processed 60 s 720p30 H.264/AAC video, public, untagged, created now. `updated_at` and
 * `ready_at` follow `created_at` unless given (`ready_at` stays null for a video not ready).
 */
export function readyVideoRow(overrides: Partial<ReadyVideoRow> & { owner_id: string }): ReadyVideoRow {
  const at = overrides.created_at ?? new Date().toISOString();
  const status = overrides.status ?? 'ready';
  return {
    id: uuidv7(),
    title: 'video',
    description: '',
    status,
    source_key: null,
    source_size: null,
    source_stream_id: null,
    upload_id: null,
    duration_seconds: 60,
    width: 1280,
    height: 720,
    fps: 30,
    has_audio: 1,
    video_codec: 'h264',
    audio_codec: 'aac',
    run_id: null,
    renditions: null,
    encoding_mode: null,
    manifest_key: null,
    thumbnail_key: null,
    storyboard_key: null,
    storyboard_vtt_key: null,
    playable_key: null,
    stage: null,
    progress: 100,
    error: null,
    created_at: at,
    updated_at: at,
    ready_at: status === 'ready' ? at : null,
    visibility: 'public',
    tags: '[]',
    ...overrides,
  };
}

/** Inserts one row (see readyVideoRow) with `db` (a transaction too) and returns it. */
export async function seedReadyVideo(db: Kysely<Tables>, overrides: Partial<ReadyVideoRow> & { owner_id: string }): Promise<ReadyVideoRow> {
  const row = readyVideoRow(overrides);
  await db.insertInto('videos').values(row).execute();
  return row;
}

/** Inserts one row for each element of `overrides`, a hundred to a statement, and returns them. */
export async function seedReadyVideos(db: Kysely<Tables>, overrides: Array<Partial<ReadyVideoRow> & { owner_id: string }>): Promise<ReadyVideoRow[]> {
  const rows = overrides.map(readyVideoRow);
  for (let i = 0; i < rows.length; i += 100)
    await db
      .insertInto('videos')
      .values(rows.slice(i, i + 100))
      .execute();
  return rows;
}

/** A 300 s ready video by `ownerId`, created `ageHours` ago; returns its id. */
export async function insertReadyVideo(t: TestNova, ownerId: string, title: string, ageHours = 1): Promise<string> {
  const at = new Date(Date.now() - ageHours * 3_600_000).toISOString();
  const row = await seedReadyVideo(t.nova.container.db.kysely, { owner_id: ownerId, title, duration_seconds: 300, created_at: at });
  return row.id;
}
