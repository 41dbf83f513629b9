// Videos waiting for their upload, per user: each may hold an upload of up to UPLOAD_MAX_BYTES, so
// one user may have at most UPLOAD_MAX_PENDING_PER_USER of them at once (over real HTTP, on SQLite
// and Postgres), also when many creations arrive at the same moment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Problem } from '../src/client/nova-client.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';

for (const backend of TEST_BACKENDS) {
  describe(`videos waiting for their upload, per user (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    before(async () => {
      const started = await startTestNovaOn(backend, { UPLOAD_MAX_PENDING_PER_USER: '2' });
      if (typeof started === 'string') return void (skip = started);
      t = started;
    });
    after(async () => t?.stop());

    it('refuses a creation beyond the limit with 409, until one is finished, deleted or expired', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client } = await t.client.newUser('uploader');
      const create = (title: string) => client.post<{ video: { id: string } } & Problem>('/api/v1/videos', { title });
      const a = await create('first');
      const b = await create('second');
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      const refused = await create('third');
      assert.equal(refused.status, 409);
      assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(refused.body.detail ?? '', /waiting for their upload \(at most 2\)/);

      // Another user has their own room.
      const other = (await t.client.newUser('other')).client;
      assert.equal((await other.post('/api/v1/videos', { title: 'mine' })).status, 201);

      // Deleting one frees a slot.
      assert.equal((await client.delete(`/api/v1/videos/${a.body.video.id}`)).status, 204);
      const c = await create('third, again');
      assert.equal(c.status, 201);
      assert.equal((await create('fourth')).status, 409);

      // A video whose file arrived no longer waits, and one whose upload expired no longer counts.
      const db = t.nova.container.db.kysely;
      await db.updateTable('videos').set({ status: 'queued' }).where('id', '=', b.body.video.id).execute();
      const d = await create('fourth, again');
      assert.equal(d.status, 201);
      assert.equal((await create('fifth')).status, 409);
      await db
        .updateTable('videos')
        .set({ created_at: new Date(Date.now() - 25 * 3600 * 1000).toISOString() })
        .where('id', '=', c.body.video.id)
        .execute();
      assert.equal((await create('fifth, again')).status, 201);
    });

    it('30 creations at once: exactly the limit are created, the others answer 409 problem+json', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client, user } = await t.client.newUser('burst');
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => client.post<Problem>('/api/v1/videos', { title: `burst ${i}` })));
      const statuses = answers.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 201).length, 2, statuses.join(','));
      for (const r of answers.filter((a) => a.status !== 201)) {
        assert.equal(r.status, 409);
        assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.match(r.body.detail, /waiting for their upload \(at most 2\)/);
      }
      const stored = await t.nova.container.db.kysely.selectFrom('videos').select('id').where('owner_id', '=', user.id).execute();
      assert.equal(stored.length, 2);
    });
  });
}
