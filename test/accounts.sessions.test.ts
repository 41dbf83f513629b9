// The per-node cache of bearer-token lookups (SESSION_CACHE_SECONDS): a lookup is reused without the
// database, yet a sign-out, a disabled account or a role change takes effect on the very next
// request, on one node alone and on two nodes sharing Postgres and Redis. The cache lifetime is set
// to its maximum (60 s) here, so nothing below can pass by an entry expiring.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { hashToken } from '../src/accounts/accounts.service.js';
import { SessionCache } from '../src/accounts/sessions.cache.js';
import { updateUser } from '../src/client/admin.client.js';
import { NovaClient } from '../src/client/nova-client.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/rtmp.js';

/** Deletes a session row behind the accounts service's back: only a cached lookup still accepts the token. */
async function deleteSessionRow(t: TestNova, token: string): Promise<void> {
  await t.nova.container.db.kysely.deleteFrom('sessions').where('token_hash', '=', hashToken(token)).execute();
}

describe('SessionCache', () => {
  const user = (id: string) => ({ id, username: id, role: 'user' as const });
  const far = Date.now() + 3_600_000;

  it('keeps an entry no longer than its lifetime or the token, and never one a revocation overtook', () => {
    const c = new SessionCache(5_000);
    c.set('h1', user('u1'), far, c.version, 1_000);
    assert.equal(c.get('h1', 5_999)?.id, 'u1');
    assert.equal(c.get('h1', 6_000), undefined, 'expired after 5 s');
    c.set('h2', user('u1'), 2_000, c.version, 1_000);
    assert.equal(c.get('h2', 2_000), undefined, 'not past the token’s own expiry');
    const v = c.version;
    c.revoke({ user_id: 'someone-else' });
    c.set('h3', user('u1'), far, v, 1_000);
    assert.equal(c.get('h3', 1_000), undefined, 'a lookup that started before a revocation is not stored');
  });

  it('drops by token and by user, and stays bounded: expired entries go first, else the oldest', () => {
    const c = new SessionCache(5_000, 3);
    c.set('a', user('u1'), far, c.version, 0);
    c.set('b', user('u1'), far, c.version, 0);
    c.set('c', user('u2'), far, c.version, 4_000);
    c.set('d', user('u2'), far, c.version, 6_000);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((h) => c.get(h, 6_000)?.id),
      [undefined, undefined, 'u2', 'u2'],
      'the two expired went',
    );
    c.set('e', user('u3'), far, c.version, 6_000);
    c.set('f', user('u3'), far, c.version, 6_000);
    assert.equal(c.size, 3);
    assert.equal(c.get('c', 6_000), undefined, 'none expired: the oldest went');
    c.revoke({ token_hash: 'd' });
    assert.equal(c.get('d', 6_000), undefined);
    c.revoke({ user_id: 'u3' });
    assert.equal(c.size, 0);
  });

  it('caches nothing with a lifetime of 0 or while revocations could be missed', () => {
    const off = new SessionCache(0);
    off.set('h', user('u'), far, off.version);
    assert.equal(off.get('h'), undefined);
    const c = new SessionCache(5_000);
    c.set('h', user('u'), far, c.version);
    c.setLive(false);
    assert.equal(c.get('h'), undefined, 'emptied');
    c.set('h', user('u'), far, c.version);
    assert.equal(c.get('h'), undefined);
    c.setLive(true);
    c.set('h', user('u'), far, c.version);
    assert.equal(c.get('h')?.id, 'u');
  });
});

describe('session cache on one node without Redis', () => {
  let t: TestNova;
  let uncached: TestNova;
  let admin: NovaClient;
  before(async () => {
    t = await startTestNova({ SESSION_CACHE_SECONDS: '60' });
    uncached = await startTestNova({ SESSION_CACHE_SECONDS: '0' });
    admin = t.client.as(null);
    assert.equal((await admin.register('sc_admin', 'password-123')).status, 201);
  });
  after(async () => {
    await t?.stop();
    await uncached?.stop();
  });

  it('reuses a lookup: a token whose row is gone still works from the cache', async () => {
    assert.equal(t.nova.container.accounts.sessionCacheActive, true);
    const { client } = await t.client.newUser('sc_cached');
    assert.equal((await client.me()).status, 200);
    await deleteSessionRow(t, client.token!);
    assert.equal((await client.me()).status, 200, 'answered from the cache');
  });

  it('SESSION_CACHE_SECONDS=0 caches nothing: a deleted row ends the token at once', async () => {
    assert.equal(uncached.nova.container.accounts.sessionCacheActive, false);
    const { client } = await uncached.client.newUser('sc_nocache');
    assert.equal((await client.me()).status, 200);
    await deleteSessionRow(uncached, client.token!);
    assert.equal((await client.me()).status, 401);
  });

  it('sign-out ends a cached token at once', async () => {
    const { client } = await t.client.newUser('sc_bye');
    assert.equal((await client.me()).status, 200);
    assert.equal((await client.me()).status, 200);
    assert.equal((await client.post('/api/v1/auth/logout')).status, 204);
    assert.equal((await client.me()).status, 401);
  });

  it('a role change shows at once and disabling ends every cached token of the account', async () => {
    const { client, user } = await t.client.newUser('sc_user');
    const second = t.client.as(null);
    assert.equal((await second.login(user.username, 'password-123')).status, 200);
    for (const c of [client, second]) assert.equal((await c.me()).body.role, 'user');
    assert.equal((await updateUser(admin, user.id, { role: 'admin' })).status, 200);
    for (const c of [client, second]) assert.equal((await c.me()).body.role, 'admin');
    assert.equal((await updateUser(admin, user.id, { disabled: true })).status, 200);
    for (const c of [client, second]) assert.equal((await c.me()).status, 401);
  });
});

describe('session cache on two nodes (Postgres, Redis)', () => {
  let skip: string | false = false;
  let pg: TestDatabase | undefined;
  let prefix = '';
  const nodes: TestNova[] = [];
  let adminA: NovaClient;
  let adminB: NovaClient;

  before(async () => {
    const redisUrl = new URL(REDIS_TEST_URL);
    skip = (await postgresSkipReason()) || (await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379)));
    if (skip) return;
    prefix = `nova-sessiontest-${process.pid}-${Date.now().toString(36)}`;
    pg = await createTestDatabase();
    const env = { DATABASE_URL: pg.url, REDIS_URL: REDIS_TEST_URL, QUEUE_PREFIX: prefix, SESSION_CACHE_SECONDS: '60' };
    nodes.push(await startTestNova(env, { api: true, worker: false }));
    nodes.push(await startTestNova(env, { api: true, worker: false }));
    // Each node caches only once it listens to the other's revocations.
    for (const n of nodes) await waitFor('the revocation subscription', async () => n.nova.container.accounts.sessionCacheActive);
    adminA = nodes[0].client.as(null);
    assert.equal((await adminA.register('scc_admin', 'password-123')).status, 201);
    adminB = new NovaClient(nodes[1].url, adminA.token);
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.stop();
    await pg?.drop();
    if (prefix) {
      const r = new Redis(REDIS_TEST_URL);
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
  });

  /** A user signed in on node A, with a client for each node using the same token. */
  async function signedIn(name: string): Promise<{ a: NovaClient; b: NovaClient; id: string }> {
    const { client, user } = await nodes[0].client.newUser(name);
    return { a: client, b: new NovaClient(nodes[1].url, client.token), id: user.id };
  }

  /** The other node drops its entry as the revocation arrives (one Redis hop after the answer); with a
   * 60 s cache lifetime, nothing but that message can end it within the wait. */
  async function untilOtherNode<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<void> {
    await waitFor(what, async () => ok(await read()), 10_000);
  }

  it('node B serves a cached lookup without the database (so only a revocation can end it there)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const { b } = await signedIn('scc_cached');
    assert.equal((await b.me()).status, 200);
    await deleteSessionRow(nodes[0], b.token!);
    assert.equal((await b.me()).status, 200, 'answered from node B’s cache');
  });

  it('a sign-out on node A ends the token at once there and, as the revocation arrives, on node B', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const { a, b } = await signedIn('scc_bye');
    assert.equal((await b.me()).status, 200);
    assert.equal((await a.me()).status, 200);
    assert.equal((await a.post('/api/v1/auth/logout')).status, 204);
    assert.equal((await a.me()).status, 401);
    await untilOtherNode(
      'node B to refuse the signed-out token',
      async () => (await b.me()).status,
      (st) => st === 401,
    );
  });

  it('an account disabled on node A fails at once there and, as the revocation arrives, on node B', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const { a, b, id } = await signedIn('scc_off');
    assert.equal((await a.me()).status, 200);
    assert.equal((await b.me()).status, 200);
    assert.equal((await updateUser(adminA, id, { disabled: true })).status, 200);
    assert.equal((await a.me()).status, 401);
    await untilOtherNode(
      'node B to refuse the disabled account',
      async () => (await b.me()).status,
      (st) => st === 401,
    );
  });

  it('a role change on node B shows at once there and, as the revocation arrives, on node A', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const { a, b, id } = await signedIn('scc_role');
    assert.equal((await a.me()).body.role, 'user');
    assert.equal((await b.me()).body.role, 'user');
    assert.equal((await updateUser(adminB, id, { role: 'admin' })).status, 200);
    assert.equal((await b.me()).body.role, 'admin');
    await untilOtherNode(
      'node A to see the new role',
      async () => (await a.me()).body.role,
      (r) => r === 'admin',
    );
  });
});
