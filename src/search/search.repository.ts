// The search_documents table and its engine index (FTS5 on SQLite, a GIN tsvector on Postgres).
// Writes take the caller's executor, so a video's document changes in the same transaction as the
// video. Queries get folded words only (see search.text), each matched as a prefix, all required.
import { sql, type RawBuilder } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';

export type SearchKind = 'video' | 'stream' | 'user';

export interface SearchDocumentTable {
  id: string;
  kind: SearchKind;
  owner_id: string | null;
  listed: number;
  findable: number;
  title: string;
  popularity: number;
  created_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    search_documents: SearchDocumentTable;
  }
}

export interface SearchDocument {
  id: string;
  kind: SearchKind;
  ownerId: string | null;
  listed: boolean;
  findable: boolean;
  title: string;
  /** Folded words of the title, and of everything else that should match (description, tags, names). */
  titleText: string;
  bodyText: string;
  createdAt: string;
}

export interface SearchHit {
  id: string;
  kind: SearchKind;
  owner_id: string | null;
  title: string;
  created_at: string;
  popularity: number;
  score: number;
}

export interface SearchQuery {
  kind: SearchKind;
  words: string[];
  viewer: { userId: string | null; admin: boolean };
  limit: number;
  offset: number;
}

/** How many of the newest matches (of the title, and of all text) are scored per search. */
export const RANK_WINDOW = 100;

export class SearchRepository {
  constructor(private readonly db: Db) {}

  async put(ex: Executor, d: SearchDocument): Promise<void> {
    const row = { id: d.id, kind: d.kind, owner_id: d.ownerId, listed: d.listed ? 1 : 0, findable: d.findable ? 1 : 0, title: d.title, created_at: d.createdAt };
    const set = { kind: d.kind, owner_id: d.ownerId, listed: row.listed, findable: row.findable, title: d.title };
    if (this.db.dialect === 'postgres') {
      const tsv = sql`setweight(to_tsvector('simple', ${d.titleText}), 'A') || setweight(to_tsvector('simple', ${d.bodyText}), 'B')`;
      await ex
        .insertInto('search_documents')
        .values({ ...row, popularity: 0, tsv } as never)
        .onConflict((oc) => oc.column('id').doUpdateSet({ ...set, tsv } as never))
        .execute();
      return;
    }
    const r = await ex
      .insertInto('search_documents')
      .values({ ...row, popularity: 0 })
      .onConflict((oc) => oc.column('id').doUpdateSet(set))
      .returning(sql<number>`rowid`.as('rowid'))
      .executeTakeFirstOrThrow();
    await sql`DELETE FROM search_fts WHERE rowid = ${r.rowid}`.execute(ex);
    await sql`INSERT INTO search_fts (rowid, title, body) VALUES (${r.rowid}, ${d.titleText}, ${d.bodyText})`.execute(ex);
  }

  async remove(ex: Executor, id: string): Promise<void> {
    if (this.db.dialect === 'sqlite') {
      await sql`DELETE FROM search_fts WHERE rowid IN (SELECT rowid FROM search_documents WHERE id = ${id})`.execute(ex);
    }
    await ex.deleteFrom('search_documents').where('id', '=', id).execute();
  }

  async addPopularity(id: string, delta: number, ex: Executor = this.db.kysely): Promise<void> {
    await ex
      .updateTable('search_documents')
      .set((eb) => ({ popularity: eb('popularity', '+', delta) }))
      .where('id', '=', id)
      .execute();
  }

  async setPopularity(ex: Executor, id: string, value: number): Promise<void> {
    await ex.updateTable('search_documents').set({ popularity: value }).where('id', '=', id).execute();
  }

  async clear(ex: Executor, kinds: SearchKind[]): Promise<void> {
    if (this.db.dialect === 'sqlite') {
      await sql`DELETE FROM search_fts WHERE rowid IN (SELECT rowid FROM search_documents WHERE kind IN (${sql.join(kinds)}))`.execute(ex);
    }
    await ex.deleteFrom('search_documents').where('kind', 'in', kinds).execute();
  }

  /**
   * SQLite: forgets the STAT4 samples that ANALYZE takes of the FTS5 index's own tables. With them,
   * SQLite marks FTS5's internal term lookup (`term <= ?` on search_fts_idx) as depending on its
   * bound values and re-plans it every time FTS5 binds a term: every segment seek of every search
   * parsed and planned a statement again, ~15% of a search's CPU on the search benchmark's data.
   * Without samples that lookup keeps its one plan (the primary key). Run when search starts.
   */
  async forgetIndexSamples(): Promise<void> {
    if (this.db.dialect !== 'sqlite') return;
    const stat4 = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat4'`.execute(this.db.kysely);
    if (!stat4.rows[0]?.n) return;
    const gone = await sql`DELETE FROM sqlite_stat4 WHERE tbl GLOB 'search_fts_*'`.execute(this.db.kysely);
    // Statements prepared from here on plan without them.
    if (Number(gone.numAffectedRows ?? 0) > 0) await sql`ANALYZE sqlite_schema`.execute(this.db.kysely);
  }

  /**
   * Best first: relevance, then popularity, then the newest. A common word or short prefix matches
   * most documents, and scoring every match (bm25, ts_rank) is what made search slow; so only a
   * window is scored: the newest RANK_WINDOW matches whose title holds every word, and the newest
   * RANK_WINDOW matches anywhere. With fewer matches than that the order is exactly the full ranking;
   * with more, title matches still come first, and a page past the window lists the window's ranking
   * then every other match by relevance, so paging never repeats or skips a result.
   */
  async search(q: SearchQuery): Promise<SearchHit[]> {
    if (q.words.length === 0) return [];
    const { userId, admin } = q.viewer;
    // Listed documents for everyone; a user's own unlisted/private ready videos for them (and admins).
    const visible = admin ? sql`(d.listed = 1 OR d.findable = 1)` : userId ? sql`(d.listed = 1 OR (d.findable = 1 AND d.owner_id = ${userId}))` : sql`d.listed = 1`;
    const deep = q.offset + q.limit > RANK_WINDOW;
    const r = this.db.dialect === 'postgres' ? await this.searchPostgres(q, visible, deep) : await this.searchSqlite(q, visible, deep);
    return r.rows.map((h) => ({ ...h, score: Number(h.score), popularity: Number(h.popularity) }));
  }

  private searchPostgres(q: SearchQuery, visible: RawBuilder<unknown>, deep: boolean) {
    const all = q.words.map((w) => `${w}:*`).join(' & ');
    // The newest matches come from the (kind, created_at) index for a common word, or from a GIN
    // index then a top-N sort for a rare one: the planner picks by the words' statistics. Title
    // matches search title_tsv (the title's words only, generated from tsv), with its own statistics.
    // ts_rank is computed after the LIMIT: in the same SELECT, Postgres scores every row the GIN
    // index returns (hundreds for a common pair of prefixes) before its top-N sort keeps 100.
    const newest = (column: 'tsv' | 'title_tsv', only: RawBuilder<unknown> = sql`TRUE`) => sql`(
      SELECT id, kind, owner_id, title, created_at, popularity, ts_rank(tsv, to_tsquery('simple', ${all})) AS score FROM (
        SELECT d.id, d.kind, d.owner_id, d.title, d.created_at, d.popularity, d.tsv
        FROM search_documents d
        WHERE ${sql.ref(`d.${column}`)} @@ to_tsquery('simple', ${all}) AND d.kind = ${q.kind} AND ${visible} AND ${only}
        ORDER BY d.created_at DESC LIMIT ${RANK_WINDOW}) n)`;
    const both = sql`${newest('title_tsv')} UNION ALL ${newest('tsv')}`;
    if (!deep) {
      // With fewer matches than the window, the newest matches are all of them, title matches
      // included, so the title pass is skipped (a one-time filter: its index is never read). Both
      // passes score alike, so the result is the same either way. The window's rows carry what a hit
      // shows, so nothing is read twice.
      return sql<SearchHit>`
        WITH anywhere AS MATERIALIZED ${newest('tsv')},
          titled AS ${newest('title_tsv', sql`(SELECT count(*) FROM anywhere) >= ${RANK_WINDOW}`)}
        SELECT * FROM (SELECT DISTINCT ON (id) * FROM (SELECT * FROM anywhere UNION ALL SELECT * FROM titled) w ORDER BY id, score DESC) win
        ORDER BY score DESC, popularity DESC, created_at DESC, id DESC
        LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db.kysely);
    }
    const win = sql`SELECT id, max(score) AS score FROM (${both}) w GROUP BY id`;
    return sql<SearchHit>`
      SELECT d.id, d.kind, d.owner_id, d.title, d.created_at, d.popularity,
        coalesce(win.score, ts_rank(d.tsv, to_tsquery('simple', ${all}))) AS score
      FROM search_documents d LEFT JOIN (${win}) win ON win.id = d.id
      WHERE d.tsv @@ to_tsquery('simple', ${all}) AND d.kind = ${q.kind} AND ${visible}
      ORDER BY win.id IS NULL, score DESC, d.popularity DESC, d.created_at DESC, d.id DESC
      LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db.kysely);
  }

  private searchSqlite(q: SearchQuery, visible: RawBuilder<unknown>, deep: boolean) {
    // Words are letters and digits only, so quoting each one is all FTS5 needs.
    const all = q.words.map((w) => `"${w}"*`).join(' AND ');
    const kind = sql.lit(q.kind);
    const page = sql`CAST(${q.limit} AS INTEGER) OFFSET CAST(${q.offset} AS INTEGER)`;
    // bm25 can only be computed in the query that matches, so each half scores its own rows; a
    // title-only match scores its title hits, which the title's weight puts above body matches.
    // FTS5 hands matches out newest (highest rowid) first and stops at the LIMIT.
    const newest = (match: string, limit: RawBuilder<unknown> = sql.lit(RANK_WINDOW)) => sql`SELECT * FROM (
      SELECT d.id, d.kind, d.owner_id, d.title, d.created_at, d.popularity, -bm25(search_fts, 10.0, 1.0) AS score
      FROM search_fts JOIN search_documents d ON d.rowid = search_fts.rowid
      WHERE search_fts MATCH ${match} AND d.kind = ${kind} AND ${visible}
      ORDER BY search_fts.rowid DESC LIMIT ${limit})`;
    const both = sql`${newest(`title : (${all})`)} UNION ALL ${newest(all)}`;
    if (!deep) {
      // With fewer matches than the window, the newest matches are all of them, title matches
      // included, and bm25 with the title weighted 10x already ranks those first: the title pass is
      // skipped. Its LIMIT is 0 then, which SQLite tests before FTS5 reads anything (a WHERE term
      // would be tested per row, after the match). The window's rows carry what a hit shows; SQLite
      // takes the other columns from the max row.
      return sql<SearchHit>`
        WITH anywhere AS MATERIALIZED (${newest(all)}),
          titled AS (${newest(`title : (${all})`, sql`CASE WHEN (SELECT count(*) FROM anywhere) >= ${sql.lit(RANK_WINDOW)} THEN ${sql.lit(RANK_WINDOW)} ELSE 0 END`)})
        SELECT id, kind, owner_id, title, created_at, popularity, max(score) AS score FROM (SELECT * FROM anywhere UNION ALL SELECT * FROM titled) GROUP BY id
        ORDER BY score DESC, popularity DESC, created_at DESC, id DESC
        LIMIT ${page}`.execute(this.db.kysely);
    }
    const win = sql`SELECT id, max(score) AS score FROM (${both}) GROUP BY id`;
    return sql<SearchHit>`
      SELECT d.id, d.kind, d.owner_id, d.title, d.created_at, d.popularity,
        coalesce(win.score, -bm25(search_fts, 10.0, 1.0)) AS score
      FROM search_fts JOIN search_documents d ON d.rowid = search_fts.rowid LEFT JOIN (${win}) win ON win.id = d.id
      WHERE search_fts MATCH ${all} AND d.kind = ${kind} AND ${visible}
      ORDER BY win.id IS NULL, score DESC, d.popularity DESC, d.created_at DESC, d.id DESC
      LIMIT ${page}`.execute(this.db.kysely);
  }
}
