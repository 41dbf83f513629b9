// Clips: a video cut from another video (by copying the segments that cover a range) or from a
// stream's live window. Where it came from maps its time back to the source's, for chat replay.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const clips: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('clips')
        // The clip's own video.
        .addColumn('video_id', 'text', (c) => c.primaryKey().references('videos.id').onDelete('cascade'))
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        // A clip of a video: that video and the range cut, in its seconds.
        .addColumn('source_video_id', 'text')
        // A clip of a live stream: the stream, the broadcast and the wall-clock time of the clip's first frame.
        .addColumn('stream_id', 'text')
        .addColumn('broadcast_id', 'text')
        .addColumn('wall_start', t.timestamp)
        .addColumn('start_seconds', t.double, (c) => c.notNull())
        .addColumn('end_seconds', t.double, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('clips_source_idx').on('clips').column('source_video_id').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('clips').execute();
    },
  };
};
