// Live streams: one row per stream (its key as a sha256 hash only, lifecycle, viewer counts,
// which ingest process holds the publisher) and one row per publish session, so reconnects
// and the recording parts they produced can be told apart.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const live: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('streams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('creator_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('idle'))
        .addColumn('stream_key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_rotated_at', t.timestamp)
        .addColumn('started_at', t.timestamp)
        .addColumn('ended_at', t.timestamp)
        .addColumn('end_reason', 'text')
        .addColumn('viewer_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('peak_viewer_count', 'integer', (c) => c.notNull().defaultTo(0))
        // The ingest process holding the publisher right now (null while nobody publishes),
        // refreshed by heartbeat so a crashed process does not hold the stream forever.
        .addColumn('publisher_id', 'text')
        .addColumn('publisher_heartbeat_at', t.timestamp)
        // Set when the publisher leaves; the reconnect window runs from here.
        .addColumn('disconnected_at', t.timestamp)
        // The live HLS ladder currently published, as JSON (rungs and their bandwidths).
        .addColumn('ladder', 'text')
        // none | pending | processing | done | failed
        .addColumn('recording_state', 'text', (c) => c.notNull().defaultTo('none'))
        .addColumn('recording_video_id', 'text')
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('streams_status_idx').on('streams').columns(['status', 'started_at']).execute();
      await db.schema.createIndex('streams_creator_idx').on('streams').columns(['creator_id', 'created_at']).execute();

      await db.schema
        .createTable('stream_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('started_at', t.timestamp, (c) => c.notNull())
        .addColumn('ended_at', t.timestamp)
        .addColumn('remote_address', 'text')
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        // Storage key of this session's recording part, once uploaded.
        .addColumn('recording_key', 'text')
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema.createIndex('stream_sessions_stream_idx').on('stream_sessions').columns(['stream_id', 'started_at']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('stream_sessions').execute();
      await db.schema.dropTable('streams').execute();
    },
  };
};
