// Videos (VOD) and the jobs table behind the embedded queue. The jobs table is also the record of
// every job's state when BullMQ dispatches them, so the admin view and queue positions read one place.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const videos: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('videos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source_key', 'text')
        .addColumn('source_size', 'bigint')
        .addColumn('source_stream_id', 'text')
        // The tus upload writing this video's source, so a delete can also remove a half-done upload.
        .addColumn('upload_id', 'text')
        .addColumn('duration_seconds', t.double)
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        .addColumn('fps', t.double)
        .addColumn('has_audio', 'integer')
        .addColumn('video_codec', 'text')
        .addColumn('audio_codec', 'text')
        // Published outputs live under videos/<id>/r/<run_id>/, one run per successful transcode.
        .addColumn('run_id', 'text')
        .addColumn('renditions', 'text')
        .addColumn('manifest_key', 'text')
        .addColumn('thumbnail_key', 'text')
        .addColumn('storyboard_key', 'text')
        .addColumn('storyboard_vtt_key', 'text')
        // An EVENT master playlist that plays while the ladder is still being made.
        .addColumn('playable_key', 'text')
        .addColumn('stage', 'text')
        .addColumn('progress', t.double, (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('ready_at', t.timestamp)
        .execute();
      await db.schema.createIndex('videos_owner_idx').on('videos').columns(['owner_id', 'id']).execute();
      await db.schema.createIndex('videos_status_idx').on('videos').columns(['status', 'id']).execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('video_id', 'text', (c) => c.references('videos.id').onDelete('cascade'))
        .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_at', t.timestamp, (c) => c.notNull())
        .addColumn('locked_by', 'text')
        .addColumn('lease_until', t.timestamp)
        .addColumn('stage', 'text')
        .addColumn('progress', t.double, (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('started_at', t.timestamp)
        .addColumn('finished_at', t.timestamp)
        .execute();
      await db.schema.createIndex('jobs_claim_idx').on('jobs').columns(['state', 'run_at', 'id']).execute();
      await db.schema.createIndex('jobs_video_idx').on('jobs').column('video_id').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('jobs').execute();
      await db.schema.dropTable('videos').execute();
    },
  };
};
