// SQLite's ANALYZE samples (STAT4) of the FTS5 index's own tables make SQLite re-plan FTS5's term
// lookup at every seek; search drops them when it starts. Checks that they go, that every other
// table keeps its statistics, and that search answers the same without them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { SearchRepository } from '../src/search/search.repository.js';
import { indexText } from '../src/search/search.text.js';
import { TEST_DIALECTS } from './helpers/dialects.js';

const sqlite = TEST_DIALECTS.find((d) => d.name === 'sqlite')!;

describe('search index statistics (sqlite)', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let repo: SearchRepository;
  const samples = async () =>
    (await sql<{ tbl: string; n: number }>`SELECT tbl, count(*) AS n FROM sqlite_stat4 GROUP BY tbl`.execute(db.kysely)).rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.tbl]: r.n }), {});
  const find = (words: string[]) => repo.search({ kind: 'video', words, viewer: { userId: null, admin: false }, limit: 10, offset: 0 });

  before(async () => {
    ({ db, cleanup } = await sqlite.open());
    await migrateToLatest(db);
    repo = new SearchRepository(db);
    const words = ['river', 'stone', 'lantern', 'harbor', 'meadow', 'copper'];
    await db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < 300; i++) {
        const title = `${words[i % 6]} ${words[(i * 7) % 6]} take ${i}`;
        await repo.put(trx, {
          id: `v${i}`,
          kind: 'video',
          ownerId: 'owner',
          listed: true,
          findable: true,
          title,
          titleText: indexText(title),
          bodyText: indexText(`${words[(i * 5) % 6]} walk number ${i}`),
          createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
        });
      }
    });
    await sql`ANALYZE`.execute(db.kysely);
  });
  after(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('drops the FTS5 tables samples only, and search answers the same', async () => {
    const before = await samples();
    assert.ok((before.search_fts_idx ?? 0) > 0, `ANALYZE sampled the FTS5 index: ${JSON.stringify(before)}`);
    assert.ok((before.search_documents ?? 0) > 0);
    const queries = [['riv'], ['stone', 'lan'], ['copper'], ['walk', 'mead']];
    const answers = [];
    for (const q of queries) answers.push(await find(q));

    await repo.forgetIndexSamples();
    const after = await samples();
    assert.deepEqual(
      Object.keys(after).filter((t) => t.startsWith('search_fts_')),
      [],
    );
    assert.equal(after.search_documents, before.search_documents, 'other tables keep their statistics');
    for (const [i, q] of queries.entries()) assert.deepEqual(await find(q), answers[i], q.join(' '));
    // Nothing left to drop: a second start is a no-op.
    await repo.forgetIndexSamples();
    assert.deepEqual(await samples(), after);
  });
});
