// Running an instance: disabled accounts and invite codes (accounts), hidden videos (videos), the
// instance's settings (instance) and the moderation log (moderation). Each table has one owner.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const adminModeration: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('users').addColumn('disabled_at', t.timestamp).execute();
      await db.schema
        .createTable('invites')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('expires_at', t.timestamp)
        .execute();
      await db.schema.alterTable('videos').addColumn('hidden_at', t.timestamp).execute();
      await db.schema.alterTable('videos').addColumn('hidden_reason', 'text').execute();
      await db.schema
        .createTable('instance_settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('moderation_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('target_title', 'text', (c) => c.notNull())
        .addColumn('target_owner_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('moderator_id', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('moderation_log_created_idx').on('moderation_log').column('created_at').execute();
      await db.schema.createIndex('moderation_log_target_idx').on('moderation_log').columns(['target_type', 'target_id']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('moderation_log').execute();
      await db.schema.dropTable('instance_settings').execute();
      await db.schema.alterTable('videos').dropColumn('hidden_reason').execute();
      await db.schema.alterTable('videos').dropColumn('hidden_at').execute();
      await db.schema.dropTable('invites').execute();
      await db.schema.alterTable('users').dropColumn('disabled_at').execute();
    },
  };
};
