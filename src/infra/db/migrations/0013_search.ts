// The search index: one document per video, live stream and user, with its text folded (lower case,
// no diacritics) by the application so both engines match the same way. SQLite matches with an
// FTS5 table beside it; Postgres with a 'simple' tsvector and a GIN index (prefix tsquery `word:*`),
// which needs no extension.
import { sql } from 'kysely';
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const search: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  const pg = dialect === 'postgres';
  return {
    async up(db: AnyDb) {
      const table = db.schema
        .createTable('search_documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        // 1 when anyone may find it (a public ready video, a live stream, a user).
        .addColumn('listed', 'integer', (c) => c.notNull())
        // 1 when its owner (and admins) may find it although it is not listed (their own ready videos).
        .addColumn('findable', 'integer', (c) => c.notNull())
        // As shown in results; what matches is the folded text in the engine's index.
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('popularity', t.double, (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.timestamp, (c) => c.notNull());
      await table.execute();
      if (pg) {
        await sql`ALTER TABLE search_documents ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector`.execute(db);
        await sql`CREATE INDEX search_documents_tsv_idx ON search_documents USING gin (tsv)`.execute(db);
      } else {
        // Rows keyed by search_documents' rowid; the folded text is kept here only.
        await sql`CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')`.execute(db);
      }
      await db.schema.createIndex('search_documents_kind_idx').on('search_documents').columns(['kind', 'listed']).execute();
    },
    async down(db: AnyDb) {
      if (!pg) await sql`DROP TABLE search_fts`.execute(db);
      await db.schema.dropTable('search_documents').execute();
    },
  };
};
