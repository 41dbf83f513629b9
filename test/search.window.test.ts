// Search ranking past its scoring window, on SQLite and the real Postgres: with far more matches
// than the window holds, an old title match still ranks first, and paging to the end lists every
// visible match exactly once, across the window's edge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { RANK_WINDOW, SearchRepository, type SearchDocument } from '../src/search/search.repository.js';
import { indexText } from '../src/search/search.text.js';
import { TEST_DIALECTS } from './helpers/dialects.js';

const BODY_MATCHES = RANK_WINDOW * 2 + 37;

for (const dialect of TEST_DIALECTS) {
  describe(`search ranking window (${dialect.name})`, async () => {
    const reason = await dialect.skip();
    let db: Db;
    let cleanup: () => Promise<void>;
    let repo: SearchRepository;
    const anonymous = { userId: null, admin: false };
    const doc = (id: string, title: string, body: string, minutesAgo: number, listed = true): SearchDocument => ({
      id,
      kind: 'video',
      ownerId: 'owner',
      listed,
      findable: true,
      title,
      titleText: indexText(title),
      bodyText: indexText(body),
      createdAt: new Date(Date.UTC(2026, 0, 1) - minutesAgo * 60_000).toISOString(),
    });

    before(async () => {
      if (reason) return;
      ({ db, cleanup } = await dialect.open());
      await migrateToLatest(db);
      repo = new SearchRepository(db);
      await db.kysely.transaction().execute(async (trx) => {
        // Indexed first and oldest: outside the newest matches, found only by its title.
        await repo.put(trx, doc('title-match', 'Zebra crossing at dawn', 'a quiet street', 100_000));
        await repo.put(trx, doc('hidden', 'Zebra secrets', 'not listed', 99_999, false));
        for (let i = 0; i < BODY_MATCHES; i++) {
          await repo.put(trx, doc(`body-${String(i).padStart(4, '0')}`, `Street scene ${i}`, `a zebra walks by, take ${i}`, BODY_MATCHES - i));
        }
        await repo.put(trx, doc('other', 'Unrelated clip', 'nothing to see', 0));
      });
    });
    after(async () => {
      if (reason) return;
      await db.close();
      await cleanup();
    });

    it('puts an old title match above newer body matches', { skip: reason }, async () => {
      for (const words of [['zeb'], ['zebra'], ['dawn', 'zeb']]) {
        const hits = await repo.search({ kind: 'video', words, viewer: anonymous, limit: 5, offset: 0 });
        assert.equal(hits[0]?.id, 'title-match', words.join(' '));
        assert.ok(
          hits.slice(1).every((h) => h.score < hits[0].score),
          words.join(' '),
        );
      }
    });

    it('pages through every match once, past the window', { skip: reason }, async () => {
      const seen: string[] = [];
      for (let offset = 0; offset <= BODY_MATCHES + 50; offset += 50) {
        const page = await repo.search({ kind: 'video', words: ['zeb'], viewer: anonymous, limit: 50, offset });
        seen.push(...page.map((h) => h.id));
        if (page.length < 50) break;
      }
      assert.equal(seen[0], 'title-match');
      assert.equal(seen.length, BODY_MATCHES + 1);
      assert.equal(new Set(seen).size, seen.length, 'no match repeats across pages');
      assert.ok(!seen.includes('hidden') && !seen.includes('other'));
      // The owner also finds the unlisted one, still by its title.
      const mine = await repo.search({ kind: 'video', words: ['zebra'], viewer: { userId: 'owner', admin: false }, limit: 2, offset: 0 });
      assert.deepEqual(mine.map((h) => h.id).sort(), ['hidden', 'title-match']);
    });
  });
}
