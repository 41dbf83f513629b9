// A/B experiments: definitions, sticky assignments (one exposure each) and conversions.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const experiments: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('experiments')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text')
        .addColumn('variants', 'text', (c) => c.notNull())
        .addColumn('traffic_percent', t.double, (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('metric_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('stopped_at', t.timestamp)
        .execute();
      await db.schema
        .createTable('experiment_assignments')
        .addColumn('experiment_key', 'text', (c) => c.notNull().references('experiments.key').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('variant', 'text', (c) => c.notNull())
        .addColumn('assigned_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_assignments_pk', ['experiment_key', 'user_id'])
        .execute();
      await db.schema.createIndex('experiment_assignments_variant_idx').on('experiment_assignments').columns(['experiment_key', 'variant']).execute();
      await db.schema
        .createTable('experiment_conversions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('experiment_key', 'text', (c) => c.notNull().references('experiments.key').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('variant', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('value', t.double, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('experiment_conversions_idx').on('experiment_conversions').columns(['experiment_key', 'metric', 'variant']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('experiment_conversions').execute();
      await db.schema.dropTable('experiment_assignments').execute();
      await db.schema.dropTable('experiments').execute();
    },
  };
};
