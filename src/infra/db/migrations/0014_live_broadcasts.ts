// Reusable streams and their broadcasts: a stream may keep its key across broadcasts (reusable),
// keep a DVR window of history, let viewers clip; each time it goes live is a broadcast row with
// its own recording, and each publish session says which broadcast it fed.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const liveBroadcasts: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .alterTable('streams')
        .addColumn('reusable', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('streams')
        .addColumn('dvr_window_seconds', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('streams')
        .addColumn('clips_by_viewers', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // The broadcast in progress while live; null otherwise.
      await db.schema.alterTable('streams').addColumn('broadcast_id', 'text').execute();
      // Set by DELETE: the stream is ended for good and its key refused.
      await db.schema.alterTable('streams').addColumn('disabled_at', t.timestamp).execute();

      await db.schema
        .createTable('broadcasts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('started_at', t.timestamp, (c) => c.notNull())
        .addColumn('ended_at', t.timestamp)
        .addColumn('end_reason', 'text')
        .addColumn('duration_seconds', 'integer')
        .addColumn('peak_viewer_count', 'integer', (c) => c.notNull().defaultTo(0))
        // none | pending | processing | done | failed, as on streams (which keeps the latest).
        .addColumn('recording_state', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('recording_video_id', 'text')
        .execute();
      await db.schema.createIndex('broadcasts_stream_idx').on('broadcasts').columns(['stream_id', 'started_at']).execute();
      await db.schema.createIndex('broadcasts_recording_idx').on('broadcasts').columns(['recording_state', 'ended_at']).execute();

      await db.schema.alterTable('stream_sessions').addColumn('broadcast_id', 'text').execute();
      // The wall-clock time of the first frame of the session's recording part, and that part's
      // length by its media timestamps: they map chat times onto the recording. Reckoned back from
      // the last packet, since an encoder may send its first seconds in a burst.
      await db.schema.alterTable('stream_sessions').addColumn('media_started_at', t.timestamp).execute();
      await db.schema.alterTable('stream_sessions').addColumn('media_seconds', t.double).execute();
      await db.schema.createIndex('stream_sessions_broadcast_idx').on('stream_sessions').columns(['broadcast_id', 'started_at']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('stream_sessions_broadcast_idx').execute();
      await db.schema.alterTable('stream_sessions').dropColumn('media_seconds').execute();
      await db.schema.alterTable('stream_sessions').dropColumn('media_started_at').execute();
      await db.schema.alterTable('stream_sessions').dropColumn('broadcast_id').execute();
      await db.schema.dropTable('broadcasts').execute();
      for (const col of ['disabled_at', 'broadcast_id', 'clips_by_viewers', 'dvr_window_seconds', 'reusable']) {
        await db.schema.alterTable('streams').dropColumn(col).execute();
      }
    },
  };
};
