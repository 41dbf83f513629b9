// The clips table: which video (or live stream) each clip was cut from, and the range. No rules
// here (see clips.service).
import type { Db, Executor } from '../infra/db/database.js';

export interface ClipTable {
  video_id: string;
  created_by: string;
  source_video_id: string | null;
  stream_id: string | null;
  broadcast_id: string | null;
  wall_start: string | null;
  start_seconds: number;
  end_seconds: number;
  created_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    clips: ClipTable;
  }
}

export class ClipsRepository {
  constructor(private readonly db: Db) {}

  async insert(ex: Executor, row: ClipTable): Promise<void> {
    await ex.insertInto('clips').values(row).execute();
  }

  async findByVideo(videoId: string): Promise<ClipTable | undefined> {
    return this.db.kysely.selectFrom('clips').selectAll().where('video_id', '=', videoId).executeTakeFirst();
  }
}
