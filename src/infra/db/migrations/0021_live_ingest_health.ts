// Ingest health while live: the publishing process writes what it measures of the incoming media
// (bitrate, frame rate, resolution, dropped and late frames) with each heartbeat, so any API
// process can answer the creator's dashboard. JSON text; null while nobody publishes.
import type { AnyDb, MigrationFactory } from './types.js';

export const liveIngestHealth: MigrationFactory = () => ({
  async up(db: AnyDb) {
    await db.schema.alterTable('streams').addColumn('ingest_health', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('streams').dropColumn('ingest_health').execute();
  },
});
