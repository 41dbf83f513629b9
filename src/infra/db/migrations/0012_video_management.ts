// Video management: visibility and tags on videos, the key that signs private playback tokens,
// and who follows whom (channels).
import { sql } from 'kysely';
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const videoManagement: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .alterTable('videos')
        .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public'))
        .execute();
      // JSON array of strings.
      await db.schema
        .alterTable('videos')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      // Listings (recent, a channel's videos) read public ready videos newest first.
      await db.schema.createIndex('videos_listed_idx').on('videos').columns(['status', 'visibility', 'id']).execute();
      await db.schema.createIndex('videos_owner_listed_idx').on('videos').columns(['owner_id', 'status', 'visibility', 'id']).execute();

      // One row: every node signs and checks playback tokens with the same key.
      await db.schema
        .createTable('video_playback_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('follows')
        .addColumn('follower_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('followee_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('follows_pk', ['follower_id', 'followee_id'])
        .execute();
      await db.schema.createIndex('follows_followee_idx').on('follows').column('followee_id').execute();
      if (dialect === 'sqlite') await sql`ANALYZE`.execute(db).catch(() => {});
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('follows').execute();
      await db.schema.dropTable('video_playback_keys').execute();
      await db.schema.dropIndex('videos_owner_listed_idx').execute();
      await db.schema.dropIndex('videos_listed_idx').execute();
      await db.schema.alterTable('videos').dropColumn('tags').execute();
      await db.schema.alterTable('videos').dropColumn('visibility').execute();
    },
  };
};
