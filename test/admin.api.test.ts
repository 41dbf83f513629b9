// Running an instance over real HTTP, on SQLite and on Postgres: the admin's users (search,
// disable/enable, make/revoke admin), registration modes and invite codes, the instance's settings
// and checklist, and content moderation with its log. Every admin endpoint refuses anonymous
// callers (401) and plain users (403). Ready videos are inserted into the videos table as the
// pipeline leaves them: transcoding adds nothing to a test about who may see them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import {
  createInvite,
  deleteInvite,
  getAdminInstance,
  getInstance,
  listInvites,
  listUsers,
  moderate,
  moderationLog,
  registerWithInvite,
  updateInstance,
  updateUser,
} from '../src/client/admin.client.js';
import { like } from '../src/client/engagement.client.js';
import { createStream } from '../src/client/live.client.js';
import type { NovaClient, Problem, UserInfo } from '../src/client/nova-client.js';
import { PublishRefused, type LiveService } from '../src/live/live.service.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { seedReadyVideo } from './helpers/videos-db.js';

async function insertReadyVideo(t: TestNova, ownerId: string, title: string): Promise<string> {
  return (await seedReadyVideo(t.nova.container.db.kysely, { owner_id: ownerId, title, duration_seconds: 42, width: 640, height: 360 })).id;
}

function problem(res: { status: number; headers: Headers; body: unknown }, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  const p = res.body as Problem;
  assert.ok(p.detail.length > 5, 'a useful detail');
  if (detail) assert.match(p.detail, detail);
}

for (const backend of TEST_BACKENDS) {
  describe(`admin API (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    let admin: NovaClient;
    let adminInfo: UserInfo;
    let plain: NovaClient;
    let plainInfo: UserInfo;

    before(async () => {
      const started = await startTestNovaOn(backend);
      if (typeof started === 'string') {
        skip = started;
        return;
      }
      t = started;
      // The instance's first account is its admin.
      ({ client: admin, user: adminInfo } = await t.client.newUser('root'));
      ({ client: plain, user: plainInfo } = await t.client.newUser('plain'));
      assert.equal(adminInfo.role, 'admin');
      assert.equal(plainInfo.role, 'user');
    });

    after(async () => {
      await t?.stop();
    });

    it('refuses anonymous callers (401) and plain users (403) on every admin endpoint', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/api/v1/admin/users'],
        ['PATCH', `/api/v1/admin/users/${plainInfo.id}`, { role: 'admin' }],
        ['GET', '/api/v1/admin/invites'],
        ['POST', '/api/v1/admin/invites', {}],
        ['DELETE', '/api/v1/admin/invites/inv_aaaaaaaaaaaaaaaa'],
        ['GET', '/api/v1/admin/instance'],
        ['PATCH', '/api/v1/admin/instance', { name: 'Mine now' }],
        ['GET', '/api/v1/admin/moderation'],
        ['POST', '/api/v1/admin/moderation', { target_type: 'video', target_id: uuidv7(), action: 'hide', reason: 'spam' }],
      ];
      for (const [method, path, body] of calls) {
        problem(await t.client.as(null).request(method, path, body), 401);
        problem(await plain.request(method, path, body), 403, /admin/);
      }
      // Nothing changed on the way.
      assert.equal((await getInstance(t.client)).body.name, 'Nova');
      assert.equal((await plain.me()).body.role, 'user');
    });

    it('lists and searches users, and validates the query', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const all = await listUsers(admin);
      assert.equal(all.status, 200);
      assert.ok(all.body.total >= 2);
      assert.deepEqual(all.body.items.map((u) => u.username).slice(-2), [plainInfo.username, adminInfo.username], 'newest first');
      const found = await listUsers(admin, { q: plainInfo.username.slice(3).toUpperCase() });
      assert.deepEqual(
        found.body.items.map((u) => u.id),
        [plainInfo.id],
      );
      assert.equal(found.body.total, 1);
      // A LIKE wildcard is taken literally.
      assert.equal((await listUsers(admin, { q: '%' })).body.total, 0);
      problem(await admin.get('/api/v1/admin/users?limit=0'), 400);
      problem(await admin.get('/api/v1/admin/users?limit=101'), 400);
    });

    it('disables a user: no sign-in, the old token stops working, no upload or stream; enabling restores sign-in', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client: victim, user } = await t.client.newUser('victim');
      const oldToken = victim.token!;
      assert.equal((await victim.post('/api/v1/videos', { title: 'before' })).status, 201);

      const res = await updateUser(admin, user.id, { disabled: true });
      assert.equal(res.status, 200);
      assert.equal(res.body.disabled, true);
      assert.ok(res.body.disabled_at);

      problem(await victim.me(), 401);
      problem(await t.client.as(oldToken).post('/api/v1/videos', { title: 'after' }), 401);
      problem(await t.client.as(oldToken).post('/api/v1/streams', { title: 'live after' }), 401);
      problem(await t.client.as(null).login(user.username, 'password-123'), 403, /disabled/);
      // A wrong password does not learn that the account is disabled.
      problem(await t.client.as(null).login(user.username, 'wrong-password'), 401);

      assert.equal((await updateUser(admin, user.id, { disabled: false })).body.disabled, false);
      const back = t.client.as(null);
      assert.equal((await back.login(user.username, 'password-123')).status, 200);
      assert.equal((await back.me()).status, 200);
      // The token from before stays revoked: disabling ended every session.
      problem(await t.client.as(oldToken).me(), 401);
    });

    it("refuses a disabled creator's stream key at the ingest, and takes it again once enabled", async (ctx) => {
      if (skip) return ctx.skip(skip);
      const live = (t.nova.capabilities.find((c) => c.name === 'live') as unknown as { service: LiveService }).service;
      const { client: creator, user } = await t.client.newUser('caster');
      const s = await createStream(creator, 'Evening show');
      assert.equal(s.status, 201);
      assert.equal((await live.authorizeKey(s.body.stream_key)).id, s.body.stream.id);
      await updateUser(admin, user.id, { disabled: true });
      await assert.rejects(live.authorizeKey(s.body.stream_key), (err: unknown) => err instanceof PublishRefused && /disabled/.test(err.message));
      await updateUser(admin, user.id, { disabled: false });
      assert.equal((await live.authorizeKey(s.body.stream_key)).id, s.body.stream.id);
    });

    it('makes and revokes admins, and an admin cannot disable or demote themself', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client, user } = await t.client.newUser('helper');
      assert.equal((await updateUser(admin, user.id, { role: 'admin' })).body.role, 'admin');
      assert.equal((await client.me()).body.role, 'admin', 'the same token now acts as an admin');
      assert.equal((await listUsers(client)).status, 200);
      assert.equal((await updateUser(admin, user.id, { role: 'user' })).body.role, 'user');
      problem(await listUsers(client), 403);

      problem(await updateUser(admin, adminInfo.id, { disabled: true }), 409, /your own/);
      problem(await updateUser(admin, adminInfo.id, { role: 'user' }), 409, /your own/);
      problem(await updateUser(admin, uuidv7(), { disabled: true }), 404);
      problem(await updateUser(admin, user.id, {}), 400);
      problem(await admin.request('PATCH', `/api/v1/admin/users/${user.id}`, { role: 'owner' }), 400);
      assert.equal((await admin.me()).body.role, 'admin');
    });

    it('registration modes: closed refuses, invite-only takes a code once per use, open again', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = () => t.client.as(null);
      const name = () => `reg_${Math.random().toString(36).slice(2, 10)}`;
      assert.equal((await updateInstance(admin, { registration_mode: 'closed' })).body.registration_mode, 'closed');
      assert.equal((await getInstance(anon())).body.registration_mode, 'closed');
      problem(await anon().register(name(), 'password-123'), 403, /closed/);

      await updateInstance(admin, { registration_mode: 'invite_only' });
      problem(await anon().register(name(), 'password-123'), 403, /invite code/);
      problem(await registerWithInvite(anon(), name(), 'password-123', 'inv_nonexistent00000'), 403, /not valid/);
      const invite = await createInvite(admin, { max_uses: 1, expires_in_days: 7 });
      assert.equal(invite.status, 201);
      assert.match(invite.body.code, /^inv_/);
      assert.ok(invite.body.expires_at);
      const joined = await registerWithInvite(anon(), name(), 'password-123', invite.body.code);
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      assert.equal(joined.body.user.role, 'user');
      problem(await registerWithInvite(anon(), name(), 'password-123', invite.body.code), 403, /used up/);
      const listed = (await listInvites(admin)).body.items.find((i) => i.code === invite.body.code);
      assert.equal(listed?.uses, 1);

      // A taken username does not spend a use.
      const two = (await createInvite(admin, { max_uses: 1 })).body;
      problem(await registerWithInvite(anon(), plainInfo.username, 'password-123', two.code), 409);
      assert.equal((await registerWithInvite(anon(), name(), 'password-123', two.code)).status, 201);

      const revoked = (await createInvite(admin)).body;
      assert.equal((await deleteInvite(admin, revoked.code)).status, 204);
      problem(await deleteInvite(admin, revoked.code), 404);
      problem(await registerWithInvite(anon(), name(), 'password-123', revoked.code), 403);
      problem(await createInvite(admin, { max_uses: 0 }), 400);

      await updateInstance(admin, { registration_mode: 'open' });
      assert.equal((await anon().register(name(), 'password-123')).status, 201);
    });

    it('instance settings: name and description for the home page, and the first-run checklist', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const fresh = await getAdminInstance(admin);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.body.checklist.find((c) => c.key === 'name')?.done, false);
      assert.ok(fresh.body.upload_limits.max_bytes > 0);
      const saved = await updateInstance(admin, { name: '  Cat   Films ', description: 'Short films about cats.' });
      assert.equal(saved.status, 200);
      assert.equal(saved.body.name, 'Cat Films');
      assert.ok(
        saved.body.checklist.every((c) => c.done),
        JSON.stringify(saved.body.checklist),
      );
      assert.deepEqual((await getInstance(t.client.as(null))).body, { name: 'Cat Films', description: 'Short films about cats.', registration_mode: 'open' });
      problem(await updateInstance(admin, { name: '   ' }), 400, /empty/);
      problem(await updateInstance(admin, {}), 400);
      problem(await updateInstance(admin, { registration_mode: 'sometimes' as 'open' }), 400);
      problem(await updateInstance(admin, { name: 'x'.repeat(61) }), 400);
      assert.equal((await getInstance(t.client.as(null))).body.name, 'Cat Films', 'nothing half-written');
    });

    it('hides a video from everyone but its owner and admins, shows it again, then deletes it; all logged with reasons', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client: owner, user: ownerInfo } = await t.client.newUser('creator');
      const id = await insertReadyVideo(t, ownerInfo.id, 'Questionable clip');
      const anon = t.client.as(null);
      assert.equal((await anon.get(`/api/v1/videos/${id}`)).status, 200);

      const hid = await moderate(admin, { target_type: 'video', target_id: id, action: 'hide', reason: 'Reported as spam' });
      assert.equal(hid.status, 201, JSON.stringify(hid.body));
      assert.equal(hid.body.target_title, 'Questionable clip');
      assert.equal(hid.body.target_owner, ownerInfo.username);
      assert.equal(hid.body.moderator, adminInfo.username);

      problem(await anon.get(`/api/v1/videos/${id}`), 404);
      problem(await plain.get(`/api/v1/videos/${id}`), 404);
      problem(await plain.get(`/api/v1/videos/${id}/playback`), 404);
      problem(await like(plain, id), 404);
      const mine = await owner.get<{ hidden: { reason: string } | null }>(`/api/v1/videos/${id}`);
      assert.equal(mine.status, 200);
      assert.equal(mine.body.hidden?.reason, 'Reported as spam', 'the owner learns why');
      assert.equal((await admin.get(`/api/v1/videos/${id}`)).status, 200);
      const listed = await anon.get<{ items: Array<{ id: string }> }>(`/api/v1/videos?owner=${ownerInfo.id}`);
      assert.deepEqual(
        listed.body.items.map((v) => v.id),
        [],
      );
      problem(await moderate(admin, { target_type: 'video', target_id: id, action: 'hide', reason: 'again' }), 409);

      assert.equal((await moderate(admin, { target_type: 'video', target_id: id, action: 'unhide', reason: 'Appeal accepted' })).status, 201);
      assert.equal((await anon.get(`/api/v1/videos/${id}`)).status, 200);
      // Search follows: shown again, it is found; hidden, it is gone.
      const found = async () => (await anon.get<{ items: Array<{ id: string }> }>('/api/v1/search?q=questionable')).body.items.map((i) => i.id);
      assert.deepEqual(await found(), [id]);
      assert.equal((await moderate(admin, { target_type: 'video', target_id: id, action: 'hide', reason: 'Reported again' })).status, 201);
      assert.deepEqual(await found(), []);

      assert.equal((await moderate(admin, { target_type: 'video', target_id: id, action: 'delete', reason: 'Copyright claim' })).status, 201);
      problem(await owner.get(`/api/v1/videos/${id}`), 404);

      const log = await moderationLog(admin, { target_id: id });
      assert.deepEqual(
        log.body.items.map((e) => [e.action, e.reason]),
        [
          ['delete', 'Copyright claim'],
          ['hide', 'Reported again'],
          ['unhide', 'Appeal accepted'],
          ['hide', 'Reported as spam'],
        ],
      );
      const page = await moderationLog(admin, { target_id: id, limit: 3 });
      assert.equal(page.body.items.length, 3);
      const rest = await moderationLog(admin, { target_id: id, limit: 3, cursor: page.body.next_cursor! });
      assert.deepEqual(
        rest.body.items.map((e) => e.reason),
        ['Reported as spam'],
      );
      assert.equal(rest.body.next_cursor, null);
    });

    it('deletes a stream with a reason, and refuses bad moderation requests with a detail', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { client: creator } = await t.client.newUser('streamer');
      const s = await createStream(creator, 'Late show');
      assert.equal(s.status, 201);
      const id = s.body.stream.id;
      problem(await moderate(admin, { target_type: 'stream', target_id: id, action: 'hide', reason: 'x' }), 400, /deleted/);
      assert.equal((await moderate(admin, { target_type: 'stream', target_id: id, action: 'delete', reason: 'Violent content' })).status, 201);
      const after = await creator.get<{ status: string }>(`/api/v1/streams/${id}`);
      assert.equal(after.body.status, 'ended');
      assert.equal((await moderationLog(admin, { target_type: 'stream' })).body.items[0]?.reason, 'Violent content');

      problem(await moderate(admin, { target_type: 'video', target_id: uuidv7(), action: 'hide', reason: 'spam' }), 404);
      problem(await moderate(admin, { target_type: 'video', target_id: uuidv7(), action: 'hide', reason: '' }), 400);
      problem(await moderate(admin, { target_type: 'video', target_id: uuidv7(), action: 'hide', reason: ' \u0007 ' }), 400, /reason/);
      problem(await admin.post('/api/v1/admin/moderation', { target_type: 'channel', target_id: 'x', action: 'hide', reason: 'spam' }), 400);
    });
  });
}
