// Accounts over real HTTP: register, login, me, errors as problem+json, admin rules, rate limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNova, type TestNova } from './helpers/nova.js';
import type { Problem } from '../src/client/nova-client.js';

describe('accounts', () => {
  let t: TestNova;
  before(async () => {
    t = await startTestNova({ NOVA_ADMIN: 'boss_user', LOGIN_MAX_ATTEMPTS: '3' });
  });
  after(async () => t.stop());

  it('register → login → me; first account is admin', async () => {
    const a = t.client.as(null);
    const reg = await a.register('first_user', 'correct horse');
    assert.equal(reg.status, 201);
    assert.match(reg.body.user.id, /^[0-9a-f-]{36}$/);
    assert.equal(reg.body.user.username, 'first_user');
    assert.ok(reg.body.token.length > 20);
    const b = t.client.as(null);
    const login = await b.login('first_user', 'correct horse');
    assert.equal(login.status, 200);
    const me = await b.me();
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { id: reg.body.user.id, username: 'first_user', role: 'admin' });
    const second = await t.client.as(null).register('second_user', 'password-2');
    assert.equal(second.body.user.role, 'user');
  });

  it('NOVA_ADMIN names an admin', async () => {
    const c = t.client.as(null);
    const reg = await c.register('boss_user', 'password-3');
    assert.equal(reg.body.user.role, 'admin');
  });

  it('wrong password → 401; duplicate username (any case) → 409', async () => {
    await t.client.as(null).register('dup_user', 'password-9');
    const wrong = await t.client.as(null).login('dup_user', 'not-the-password');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const unknown = await t.client.as(null).login('nobody_here', 'whatever-1');
    assert.equal(unknown.status, 401);
    const dup = await t.client.as(null).register('DUP_user', 'password-9');
    assert.equal(dup.status, 409);
    assert.match((dup.body as unknown as Problem).detail, /taken/);
  });

  it('validation errors name the field', async () => {
    const res = await t.client.as(null).post<Problem>('/api/v1/auth/register', { username: 'ab', password: 'short' });
    assert.equal(res.status, 400);
    assert.equal(res.body.status, 400);
    assert.ok(res.body.errors?.some((e) => e.field === 'username'));
    const bad = await t.client.as(null).post<Problem>('/api/v1/auth/register', { username: 'has space', password: 'longenough' });
    assert.equal(bad.status, 400);
  });

  it('malformed JSON → 400 problem+json; unknown route → 404 problem+json', async () => {
    const res = await t.client.as(null).request<Problem>('POST', '/api/v1/auth/login', '{"username": "x', {});
    assert.equal(res.status, 400);
    assert.equal(res.body.title, 'Bad Request');
    assert.ok(res.body.detail.length > 0);
    assert.ok(!JSON.stringify(res.body).includes('at '), 'no stack trace');
    const nf = await t.client.get<Problem>('/api/v1/nothing-here');
    assert.equal(nf.status, 404);
    assert.equal(nf.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(Object.keys(nf.body).sort(), ['detail', 'status', 'title', 'type']);
  });

  it('me without or with a bad token → 401', async () => {
    assert.equal((await t.client.as(null).me()).status, 401);
    const bad = await t.client.as('nova_not-a-real-token').me();
    assert.equal(bad.status, 401);
    assert.match((bad.body as unknown as Problem).detail, /invalid or expired/);
  });

  it('logout revokes the token', async () => {
    const { client } = await t.client.newUser('bye');
    assert.equal((await client.post('/api/v1/auth/logout')).status, 204);
    assert.equal((await client.me()).status, 401);
  });

  it('login attempts are rate-limited per username (429 with Retry-After)', async () => {
    await t.client.as(null).register('target_user', 'password-7');
    for (let i = 0; i < 3; i++) assert.equal((await t.client.as(null).login('target_user', 'wrong-password')).status, 401);
    const limited = await t.client.as(null).login('target_user', 'password-7');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY names the proxy: a client cannot pick its address', async () => {
    await t.client.as(null).register('spoof_target', 'password-8');
    const attempt = (forwarded: string) =>
      fetch(`${t.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
        body: JSON.stringify({ username: 'spoof_target', password: 'wrong-password' }),
      });
    for (let i = 0; i < 3; i++) assert.equal((await attempt(`203.0.113.${i + 1}`)).status, 401);
    assert.equal((await attempt('203.0.113.99')).status, 429, 'a fresh forwarded address did not reset the limit');
  });

  it('takes a token from the URL only for WebSocket and EventSource requests', async () => {
    const { client } = await t.client.newUser('url_token');
    const token = client.token!;
    assert.equal((await fetch(`${t.url}/api/v1/me?token=${token}`)).status, 401, 'a plain request must use the header');
    assert.equal((await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const sse = await fetch(`${t.url}/api/v1/me?token=${token}`, { headers: { accept: 'text/event-stream' } });
    assert.equal(sse.status, 200, 'what an EventSource sends is accepted');
  });

  it('serves health, OpenAPI and metrics', async () => {
    assert.equal((await t.client.get('/healthz')).status, 200);
    const ready = await t.client.get<{ checks: Record<string, string> }>('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.database, 'up');
    const doc = await t.client.get<{ openapi: string; paths: Record<string, unknown> }>('/docs/json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    assert.ok(doc.body.paths['/api/v1/auth/register']);
    const metrics = await t.client.get<string>('/metrics');
    assert.match(metrics.body, /nova_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /nova_process_cpu_user_seconds_total/);
  });
});

describe('accounts behind a trusted proxy: limits per client address', () => {
  let t: TestNova;
  before(async () => {
    // The test client is the "proxy" on loopback, and says who the client is in X-Forwarded-For.
    t = await startTestNova({ TRUST_PROXY: 'loopback', LOGIN_MAX_ATTEMPTS: '3', REGISTER_MAX_PER_ADDRESS: '3' });
  });
  after(async () => t.stop());

  const post = (path: string, from: string, body: unknown) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify(body),
    });
  const login = (from: string, username: string, password: string) => post('/api/v1/auth/login', from, { username, password });

  it("a stranger's failed attempts do not lock the owner out", async () => {
    assert.equal((await post('/api/v1/auth/register', '198.51.100.7', { username: 'owner_user', password: 'owner-pass-1' })).status, 201);
    for (let i = 0; i < 3; i++) assert.equal((await login('203.0.113.5', 'owner_user', 'guess-' + i)).status, 401);
    const stopped = await login('203.0.113.5', 'owner_user', 'owner-pass-1');
    assert.equal(stopped.status, 429, 'the guessing address is stopped, even with the right password');
    assert.equal((await login('198.51.100.7', 'owner_user', 'owner-pass-1')).status, 200, 'the owner, from their own address, still gets in');
  });

  it("many addresses guessing one account are stopped at 20× the per-address limit; the owner's address still gets in", async () => {
    assert.equal((await post('/api/v1/auth/register', '198.51.100.8', { username: 'popular_user', password: 'popular-pass-1' })).status, 201);
    assert.equal((await login('198.51.100.8', 'popular_user', 'popular-pass-1')).status, 200);
    for (let i = 0; i < 60; i++) assert.equal((await login(`10.1.${Math.floor(i / 3)}.1`, 'popular_user', 'guess')).status, 401, `attempt ${i}`);
    const stopped = await login('10.2.0.1', 'popular_user', 'popular-pass-1');
    assert.equal(stopped.status, 429);
    assert.match(((await stopped.json()) as Problem).detail ?? '', /failed logins to this account/);
    assert.equal((await login('198.51.100.8', 'popular_user', 'popular-pass-1')).status, 200, 'an address that signed in before is not locked out');
    // Successful sign-ins do not count towards the account's failures.
    for (let i = 0; i < 5; i++) assert.equal((await login('198.51.100.8', 'popular_user', 'popular-pass-1')).status, 200);
  });

  it('counts an IPv6 client by its /64, so rotating addresses within it does not escape a limit', async () => {
    for (let i = 1; i <= 3; i++) assert.equal((await post('/api/v1/auth/register', `2001:db8:1:2::${i}`, { username: `v6_user_${i}`, password: 'password-123' })).status, 201);
    assert.equal((await post('/api/v1/auth/register', '2001:db8:1:2:ffff:1:2:3', { username: 'v6_user_4', password: 'password-123' })).status, 429);
    assert.equal((await post('/api/v1/auth/register', '2001:db8:1:3::1', { username: 'v6_user_5', password: 'password-123' })).status, 201, 'another /64 is not affected');
  });

  it('limits the accounts one address can create', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await post('/api/v1/auth/register', '192.0.2.1', { username: `batch_user_${i}`, password: 'password-123' })).status, 201);
    const refused = await post('/api/v1/auth/register', '192.0.2.1', { username: 'batch_user_3', password: 'password-123' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await post('/api/v1/auth/register', '192.0.2.2', { username: 'batch_user_4', password: 'password-123' })).status, 201, 'another address is not affected');
  });
});
