// Ready videos written straight into the videos table, for tests about what happens after
// processing (feed, experiments): the upload pipeline would only add minutes of transcoding.
import { v7 as uuidv7 } from 'uuid';
import type { TestNova } from './nova.js';

export async function insertReadyVideo(t: TestNova, ownerId: string, title: string, ageHours = 1): Promise<string> {
  const id = uuidv7();
  const at = new Date(Date.now() - ageHours * 3_600_000).toISOString();
  await t.nova.container.db.kysely
    .insertInto('videos')
    .values({
      id,
      owner_id: ownerId,
      title,
      description: '',
      status: 'ready',
      source_key: null,
      source_size: null,
      source_stream_id: null,
      upload_id: null,
      duration_seconds: 300,
      width: 1280,
      height: 720,
      fps: 30,
      has_audio: 1,
      video_codec: 'h264',
      audio_codec: 'aac',
      run_id: null,
      renditions: null,
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
      ready_at: at,
    })
    .execute();
  return id;
}
