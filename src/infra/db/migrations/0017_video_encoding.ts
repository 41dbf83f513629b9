// How a video's renditions were encoded (per_title or fixed), shown with its quality receipts.
// The receipts themselves live in the renditions JSON; null for videos processed before this.
import type { AnyDb, MigrationFactory } from './types.js';

export const videoEncoding: MigrationFactory = () => ({
  async up(db: AnyDb) {
    await db.schema.alterTable('videos').addColumn('encoding_mode', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('videos').dropColumn('encoding_mode').execute();
  },
});
