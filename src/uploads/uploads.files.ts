// The stored files of tus uploads and their locks, apart from the tus protocol: removing an upload
// as termination does, and removing every upload of a deleted video. Built before the videos
// service, which is handed `removeFor` at construction, so videos and uploads need no setter.
import { MemoryLocker, type Locker } from '@tus/server';
import type { Logger } from '../infra/logger.js';
import type { RedisLocker } from './uploads.locker.js';
import type { UploadStore } from './uploads.store.js';

/** What a deleted video's uploads are found by: its id, and the upload it recorded. */
export interface UploadOwner {
  id: string;
  upload_id: string | null;
}

export class UploadFiles {
  readonly locker: Locker;

  constructor(
    readonly store: UploadStore,
    /** Shared by the API nodes (Redis); @tus/server's in-process MemoryLocker when unset. */
    private readonly shared: RedisLocker | undefined,
    private readonly logger: Logger,
  ) {
    this.locker = shared ?? new MemoryLocker();
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }

  /**
   * Ends an upload as tus termination does: takes its lock, which stops a request writing it (the
   * writer is asked to let go), then removes everything stored for it.
   */
  async terminate(id: string): Promise<void> {
    const lock = this.locker.newLock(id);
    await lock.lock(new AbortController().signal, async () => {
      // Held only while removing; whoever asks next finds the upload gone.
    });
    try {
      await this.store.discard(id);
    } finally {
      await lock.unlock();
    }
    this.logger.info({ upload_id: id }, 'upload terminated and removed');
  }

  /**
   * On deletion of the video: removes every upload of it still stored, not only the recorded one
   * (a finished upload's file is a link to, or a copy of, the source that goes with its objects).
   */
  async removeFor(video: UploadOwner): Promise<void> {
    const ids = new Set(video.upload_id ? [video.upload_id] : []);
    try {
      for (const id of await this.store.uploadsOf(video.id)) ids.add(id);
    } catch (err) {
      this.logger.warn({ err, video_id: video.id }, 'listing the uploads of a deleted video failed; removing the recorded one');
    }
    for (const id of ids) {
      await this.terminate(id).catch((err) => this.logger.warn({ err, video_id: video.id, upload_id: id }, 'removing an upload of a deleted video failed'));
    }
  }
}
