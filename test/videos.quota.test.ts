// Videos waiting for their upload, per user: each may hold an upload of up to UPLOAD_MAX_BYTES, so
// one user may have at most UPLOAD_MAX_PENDING_PER_USER of them at once (over real HTTP, SQLite).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Problem } from '../src/client/nova-client.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

describe('videos waiting for their upload, per user', () => {
  let t: TestNova;
  before(async () => {
    t = await startTestNova({ UPLOAD_MAX_PENDING_PER_USER: '2' });
  });
  after(async () => t.stop());

  it('refuses a creation beyond the limit with 409, until one is finished, deleted or expired', async () => {
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
    await db.updateTable('videos').set({ created_at: new Date(Date.now() - 25 * 3600 * 1000).toISOString() }).where('id', '=', c.body.video.id).execute();
    assert.equal((await create('fifth, again')).status, 201);
  });
});
