// Relay and webhook tables: partial indexes that keep the outbox claim cheap, the processed-events
// table of idempotent consumers, and webhook subscriptions, deliveries and their attempts.
// (No NOTIFY trigger on the outbox: Postgres serializes the commits of notifying transactions
// cluster-wide, which cost a third of write throughput in bench:outbox; relays are woken in-process.)
import { sql } from 'kysely';
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const eventsWebhooks: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      // Only undelivered rows are ever claimed; these stay small however long the retention is.
      await sql`CREATE INDEX outbox_undelivered_seq_idx ON outbox (seq) WHERE delivered_at IS NULL`.execute(db);
      await sql`CREATE INDEX outbox_undelivered_key_idx ON outbox (topic, event_key, seq) WHERE delivered_at IS NULL`.execute(db);
      // They replace the two full indexes of 0002: every index costs each insert and each update of
      // the relay. Pruning reads delivered rows; webhooks look a stream's creator up by stream.started.
      await db.schema.dropIndex('outbox_pending_idx').execute();
      await db.schema.dropIndex('outbox_key_idx').execute();
      await sql`CREATE INDEX outbox_delivered_idx ON outbox (delivered_at) WHERE delivered_at IS NOT NULL`.execute(db);
      await sql`CREATE INDEX outbox_stream_started_idx ON outbox (event_key) WHERE event_type = 'stream.started'`.execute(db);
      // Free space in each page lets the claim's update (of unindexed columns) stay on the page (HOT).
      if (dialect === 'postgres') await sql`ALTER TABLE outbox SET (fillfactor = 70)`.execute(db);

      await db.schema
        .createTable('processed_events')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('processed_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('processed_events_pk', ['consumer', 'event_id'])
        .execute();
      await db.schema.createIndex('processed_events_at_idx').on('processed_events').column('processed_at').execute();

      await db.schema
        .createTable('webhook_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_expires_at', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_subscriptions_user_idx').on('webhook_subscriptions').columns(['user_id', 'created_at']).execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('webhook_subscriptions.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', t.timestamp, (c) => c.notNull())
        .addColumn('retry_until', t.timestamp, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', t.timestamp)
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('redeliver_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('completed_at', t.timestamp)
        .addUniqueConstraint('webhook_deliveries_event_uq', ['subscription_id', 'event_id'])
        .execute();
      await sql`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(db);
      await db.schema.createIndex('webhook_deliveries_sub_idx').on('webhook_deliveries').columns(['subscription_id', 'created_at']).execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('manual', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_attempts_delivery_idx').on('webhook_attempts').columns(['delivery_id', 'attempt']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('webhook_attempts').execute();
      await db.schema.dropTable('webhook_deliveries').execute();
      await db.schema.dropTable('webhook_subscriptions').execute();
      await db.schema.dropTable('processed_events').execute();
      if (dialect === 'postgres') await sql`ALTER TABLE outbox RESET (fillfactor)`.execute(db);
      await sql`DROP INDEX IF EXISTS outbox_stream_started_idx`.execute(db);
      await sql`DROP INDEX IF EXISTS outbox_delivered_idx`.execute(db);
      await db.schema.createIndex('outbox_pending_idx').on('outbox').columns(['delivered_at', 'seq']).execute();
      await db.schema.createIndex('outbox_key_idx').on('outbox').columns(['event_key', 'seq']).execute();
      await sql`DROP INDEX IF EXISTS outbox_undelivered_key_idx`.execute(db);
      await sql`DROP INDEX IF EXISTS outbox_undelivered_seq_idx`.execute(db);
    },
  };
};
