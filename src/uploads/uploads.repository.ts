// The one video column uploads own: `upload_id`, the video's live tus upload. It is changed only by
// compare-and-set, so two creations racing for one video agree on which upload replaced which.
import type { Db } from '../infra/db/database.js';
import type { VideoStatus } from '../videos/videos.repository.js';

export interface UploadSlot {
  status: VideoStatus;
  upload_id: string | null;
}

export class UploadsRepository {
  constructor(private readonly db: Db) {}

  /** The video's status and recorded upload; undefined once the video is gone. */
  async slot(videoId: string): Promise<UploadSlot | undefined> {
    return this.db.kysely.selectFrom('videos').select(['status', 'upload_id']).where('id', '=', videoId).executeTakeFirst();
  }

  /** Records `next` as the video's upload if it still waits for one and still records `expected`. */
  async swap(videoId: string, expected: string | null, next: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('videos')
      .set({ upload_id: next, updated_at: new Date().toISOString() })
      .where('id', '=', videoId)
      .where('status', '=', 'waiting_upload')
      .where('upload_id', expected === null ? 'is' : '=', expected)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
