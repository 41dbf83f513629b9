// Live chat: messages (soft-deleted through hidden_at, so moderation leaves a record), bans per
// stream, and per-stream settings (slow mode). Message ids are UUID v7, so they sort by time.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const chat: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('chat_messages')
        .addColumn('comment_id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        // The name at the time of sending, as the message was shown.
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('hidden_at', t.timestamp)
        .addColumn('hidden_by', 'text')
        .execute();
      await db.schema.createIndex('chat_messages_stream_idx').on('chat_messages').columns(['stream_id', 'comment_id']).execute();

      await db.schema
        .createTable('chat_bans')
        .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('banned_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_bans_pk', ['stream_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('chat_settings')
        .addColumn('stream_id', 'text', (c) => c.primaryKey().references('streams.id').onDelete('cascade'))
        .addColumn('slow_mode_seconds', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('chat_settings').execute();
      await db.schema.dropTable('chat_bans').execute();
      await db.schema.dropTable('chat_messages').execute();
    },
  };
};
