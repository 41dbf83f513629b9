// Engagement: counted views (with the per-viewer window that de-duplicates them), likes, watch
// time per user and video, running totals per video, and the key that hashes anonymous viewers;
// plus the index behind the feed's recent-videos read.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const engagement: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('video_views')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('video_id', 'text', (c) => c.notNull().references('videos.id').onDelete('cascade'))
        .addColumn('viewer_key', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('video_views_video_idx').on('video_views').columns(['video_id', 'created_at']).execute();
      await db.schema.createIndex('video_views_time_idx').on('video_views').column('created_at').execute();
      await db.schema.createIndex('video_views_user_idx').on('video_views').column('user_id').execute();

      // One row per viewer and video: when their last counted view was. The window check and the
      // update are one statement, so concurrent views from one viewer count once.
      await db.schema
        .createTable('video_view_marks')
        .addColumn('video_id', 'text', (c) => c.notNull().references('videos.id').onDelete('cascade'))
        .addColumn('viewer_key', 'text', (c) => c.notNull())
        .addColumn('counted_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('video_view_marks_pk', ['video_id', 'viewer_key'])
        .execute();

      await db.schema
        .createTable('video_likes')
        .addColumn('video_id', 'text', (c) => c.notNull().references('videos.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('video_likes_pk', ['video_id', 'user_id'])
        .execute();
      await db.schema.createIndex('video_likes_user_idx').on('video_likes').column('user_id').execute();
      await db.schema.createIndex('video_likes_time_idx').on('video_likes').column('created_at').execute();

      await db.schema
        .createTable('video_watch')
        .addColumn('video_id', 'text', (c) => c.notNull().references('videos.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('seconds', t.double, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('video_watch_pk', ['video_id', 'user_id'])
        .execute();
      await db.schema.createIndex('video_watch_user_idx').on('video_watch').column('user_id').execute();

      await db.schema
        .createTable('video_stats')
        .addColumn('video_id', 'text', (c) => c.primaryKey().references('videos.id').onDelete('cascade'))
        .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('likes', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('watch_seconds', t.double, (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();

      // The feed's "recent ready videos" read (videos belong to VOD; the index serves the feed).
      await db.schema.createIndex('videos_status_created_idx').on('videos').columns(['status', 'created_at']).execute();

      await db.schema
        .createTable('engagement_keys')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('videos_status_created_idx').execute();
      for (const table of ['engagement_keys', 'video_stats', 'video_watch', 'video_likes', 'video_view_marks', 'video_views']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
};
