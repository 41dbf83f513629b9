// Migrations and repositories on both dialects: the same tests on SQLite and on the real Postgres.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { migrations } from '../src/infra/db/migrations/index.js';
import { AccountsRepository } from '../src/accounts/accounts.repository.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { TEST_DIALECTS } from './helpers/dialects.js';

function suite(name: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`database (${name})`, async () => {
    const reason = await skip();
    let db: Db;
    let cleanup: () => Promise<void>;
    before(async () => {
      if (reason) return;
      ({ db, cleanup } = await open());
    });
    after(async () => {
      if (reason) return;
      await db.close();
      await cleanup();
    });

    it('applies every migration once, then nothing', { skip: reason }, async () => {
      const first = await migrateToLatest(db);
      assert.deepEqual(first, Object.keys(migrations));
      assert.deepEqual(await migrateToLatest(db), []);
    });

    it('stores and finds users; usernames unique ignoring case', { skip: reason }, async () => {
      const repo = new AccountsRepository(db);
      const now = new Date().toISOString();
      await repo.insertUser({ id: 'u1', username: 'Alice', username_lower: 'alice', password_hash: 'h', role: 'user', created_at: now });
      const found = await repo.findByUsername('ALICE');
      assert.equal(found?.id, 'u1');
      assert.equal(found?.created_at, now, 'times come back as the same ISO string');
      await assert.rejects(repo.insertUser({ id: 'u2', username: 'alice', username_lower: 'alice', password_hash: 'h', role: 'user', created_at: now }));
      await repo.insertSession({ token_hash: 't', user_id: 'u1', created_at: now, expires_at: now });
      const s = await repo.findSession('t');
      assert.equal(s?.username, 'Alice');
    });

    it('outbox rows commit with the transaction, and vanish with a rollback', { skip: reason }, async () => {
      const ts = new Date().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        await appendEvent(trx, 'video.deleted', 'v1', { video_id: 'v1', owner_id: 'u1', timestamp: ts });
      });
      await assert.rejects(
        db.kysely.transaction().execute(async (trx) => {
          await appendEvent(trx, 'video.deleted', 'v2', { video_id: 'v2', owner_id: 'u1', timestamp: ts });
          throw new Error('rollback');
        }),
      );
      const rows = await db.kysely.selectFrom('outbox').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].event_key, 'v1');
      assert.equal(rows[0].topic, 'videos.events');
      assert.equal(typeof rows[0].seq, 'number');
      const env = JSON.parse(rows[0].payload);
      assert.equal(env.event_type, 'video.deleted');
      assert.equal(env.event_id, rows[0].event_id);
    });
  });
}

for (const d of TEST_DIALECTS) suite(d.name, d.open, d.skip);
