// Conversions by user within an experiment: the per-user cap counts them on every conversion.
import type { AnyDb, MigrationFactory } from './types.js';

export const conversionUserIndex: MigrationFactory = () => ({
  async up(db: AnyDb) {
    await db.schema.createIndex('experiment_conversions_user_idx').on('experiment_conversions').columns(['experiment_key', 'user_id']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex('experiment_conversions_user_idx').execute();
  },
});
