// The transactional outbox: events are inserted in the same transaction as the change they
// describe and published later by the relay. `seq` gives the publish order per key.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const outbox: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      let table = db.schema.createTable('outbox');
      table = dialect === 'postgres' ? table.addColumn('seq', 'bigserial', (c) => c.primaryKey()) : table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
      await table
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('event_key', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('delivered_at', t.timestamp)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', t.timestamp)
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('outbox_pending_idx').on('outbox').columns(['delivered_at', 'seq']).execute();
      await db.schema.createIndex('outbox_key_idx').on('outbox').columns(['event_key', 'seq']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('outbox').execute();
    },
  };
};
