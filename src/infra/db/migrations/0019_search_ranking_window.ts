// Search ranks a bounded window of matches (see search.repository): the newest matches must come
// cheaply. SQLite: the FTS5 table gains prefix indexes (2–4 letters), so a short prefix reads one
// doclist instead of merging every word it starts; its rows are copied over. Postgres: an index on
// (kind, created_at) lets a common word walk the newest documents and stop; the title's words get a
// tsvector of their own (generated from the weight-A lexemes) and GIN index, so title matches are
// found without testing every document; and the GIN indexes no longer defer inserts to a pending
// list that every query would have to scan.
import { sql } from 'kysely';
import type { AnyDb, MigrationFactory } from './types.js';

const fts = (prefix: boolean) => sql.raw(`fts5(title, body, tokenize = 'unicode61 remove_diacritics 2'${prefix ? ", prefix = '2 3 4'" : ''})`);

async function rebuildFts(db: AnyDb, prefix: boolean): Promise<void> {
  await sql`CREATE VIRTUAL TABLE search_fts_next USING ${fts(prefix)}`.execute(db);
  await sql`INSERT INTO search_fts_next (rowid, title, body) SELECT rowid, title, body FROM search_fts`.execute(db);
  await sql`DROP TABLE search_fts`.execute(db);
  await sql`ALTER TABLE search_fts_next RENAME TO search_fts`.execute(db);
}

export const searchRankingWindow: MigrationFactory = (dialect) => ({
  async up(db: AnyDb) {
    if (dialect === 'postgres') {
      await sql`CREATE INDEX search_documents_recent_idx ON search_documents (kind, created_at DESC)`.execute(db);
      await sql`ALTER INDEX search_documents_tsv_idx SET (fastupdate = off)`.execute(db);
      await sql`ALTER TABLE search_documents ADD COLUMN title_tsv tsvector GENERATED ALWAYS AS (ts_filter(tsv, '{a}')) STORED`.execute(db);
      await sql`CREATE INDEX search_documents_title_tsv_idx ON search_documents USING gin (title_tsv) WITH (fastupdate = off)`.execute(db);
    } else {
      await rebuildFts(db, true);
    }
  },
  async down(db: AnyDb) {
    if (dialect === 'postgres') {
      await sql`DROP INDEX search_documents_title_tsv_idx`.execute(db);
      await sql`ALTER TABLE search_documents DROP COLUMN title_tsv`.execute(db);
      await sql`DROP INDEX search_documents_recent_idx`.execute(db);
      await sql`ALTER INDEX search_documents_tsv_idx RESET (fastupdate)`.execute(db);
    } else {
      await rebuildFts(db, false);
    }
  },
});
