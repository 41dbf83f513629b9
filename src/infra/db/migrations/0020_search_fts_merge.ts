// SQLite: FTS5 merges its index segments once 4 of a level exist (automerge 4), so an index kept
// current one document at a time holds several segments, and every query reads and merges each
// word's doclist from all of them. Merging at 2 keeps about one segment per level: on the search
// benchmark's 10,000 documents, the same queries cost ~30% less CPU (as much as an 'optimize' of
// the whole index gives), and indexing got no slower. Postgres: nothing to do.
import { sql } from 'kysely';
import type { AnyDb, MigrationFactory } from './types.js';

const automerge = (db: AnyDb, segments: number) => sql`INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', ${sql.raw(String(segments))})`.execute(db);

export const searchFtsMerge: MigrationFactory = (dialect) => ({
  async up(db: AnyDb) {
    if (dialect === 'sqlite') {
      await automerge(db, 2);
      // What is already indexed is merged now, not only as new documents arrive.
      await sql`INSERT INTO search_fts (search_fts) VALUES ('optimize')`.execute(db);
    }
  },
  async down(db: AnyDb) {
    if (dialect === 'sqlite') await automerge(db, 4);
  },
});
