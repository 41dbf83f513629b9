// The SSRF guard with WEBHOOKS_ALLOW_PRIVATE=false: private targets are refused with 422 on the
// literal URL and after DNS resolution (`localhost`); redirects are not followed, so a redirect to
// loopback never reaches it; and at delivery time the connection refuses a name that resolves to a
// private address even when creation-time checks were passed.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Problem } from '../src/client/nova-client.js';
import { createWebhook, listDeliveries } from '../src/client/webhooks.client.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { sendWebhook } from '../src/webhooks/webhooks.sender.js';
import { isPrivateAddress, TargetPolicy } from '../src/webhooks/webhooks.target.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

async function listen(host: string, handler: http.RequestListener): Promise<{ server: http.Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('webhook targets (WEBHOOKS_ALLOW_PRIVATE=false)', () => {
  let t: TestNova;
  let target: Awaited<ReturnType<typeof listen>>;
  let redirector: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    // The loopback target a malicious redirect points at: it must never be reached.
    target = await listen('127.0.0.1', (_req, res) => res.end('internal'));
    // A receiver the operator trusts explicitly (WEBHOOKS_ALLOWED_HOSTS), which redirects to it.
    redirector = await listen('127.0.0.2', (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/admin` }).end());
    t = await startTestNova({ WEBHOOKS_ALLOW_PRIVATE: 'false', WEBHOOKS_ALLOWED_HOSTS: '127.0.0.2', WEBHOOKS_RETRY_BASE_MS: '60000' });
  });
  after(async () => {
    await t.stop();
    target.server.close();
    redirector.server.close();
  });

  it('refuses loopback, private, link-local, unique-local and metadata targets with 422', async () => {
    const { client } = await t.client.newUser('ssrf');
    for (const url of [
      `http://127.0.0.1:${target.port}/`,
      'http://10.1.2.3/hook',
      'http://172.20.0.5/hook',
      'http://192.168.1.10/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::7f00:1]/', // IPv4-compatible forms of 127.0.0.1
      'http://[::127.0.0.1]/',
      'http://[2002:7f00:1::]/', // 6to4 around 127.0.0.1
      'http://2130706433/', // 127.0.0.1 written as one number
      'http://0x7f.1/', // and in hex
    ]) {
      const res = await createWebhook(client, url, ['video.ready']);
      assert.equal(res.status, 422, `${url} must be refused`);
      const p = res.body as unknown as Problem;
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(p.detail, /loopback, private or reserved/);
      assert.deepEqual(
        p.errors?.map((e) => e.field),
        ['url'],
      );
    }
  });

  it('refuses a host name that resolves to loopback (localhost), checked after DNS', async () => {
    const { client } = await t.client.newUser('ssrf');
    const res = await createWebhook(client, `http://localhost:${target.port}/hook`, ['video.ready']);
    assert.equal(res.status, 422);
    assert.match((res.body as unknown as Problem).detail, /"localhost" resolves to a loopback, private or reserved address/);
    const unknown = await createWebhook(client, 'http://no-such-host.invalid/hook', ['video.ready']);
    assert.equal(unknown.status, 422);
    assert.match((unknown.body as unknown as Problem).detail, /does not resolve/);
    assert.equal(target.hits(), 0);
  });

  it('does not follow a redirect to loopback: the attempt fails with the 3xx, the target is never reached', async () => {
    const { client, user } = await t.client.newUser('ssrf');
    const created = await createWebhook(client, `http://127.0.0.2:${redirector.port}/hook`, ['video.ready']);
    assert.equal(created.status, 201, 'an explicitly allowed host is accepted');
    await t.nova.container.db.kysely
      .transaction()
      .execute((trx) => appendEvent(trx, 'video.ready', 'v-redir', { video_id: 'v-redir', owner_id: user.id, duration_seconds: 1, renditions: 1, timestamp: new Date().toISOString() }));
    await until('the redirected attempt', async () => ((await listDeliveries(client, created.body.id)).body.items[0]?.attempts.length ?? 0) >= 1);
    const d = (await listDeliveries(client, created.body.id)).body.items[0];
    assert.equal(d.attempts[0].status_code, 302);
    assert.equal(d.attempts[0].error, 'redirect (302) not followed');
    assert.equal(d.status, 'pending', 'a redirect is a failure, retried later');
    assert.equal(redirector.hits(), 1);
    assert.equal(target.hits(), 0, 'the loopback target behind the redirect was never contacted');
  });

  it('at delivery time the connection itself refuses private addresses from DNS (no pre-check needed)', async () => {
    const policy = new TargetPolicy({ allowPrivate: false, allowedHosts: [] });
    const base = { body: '{}', secrets: ['whsec_x'], eventId: 'e', eventType: 'video.ready', deliveryId: 'd', timeoutMs: 5000 };
    const byName = await sendWebhook({ ...base, url: `http://localhost:${target.port}/` }, policy);
    assert.equal(byName.ok, false);
    assert.equal(byName.statusCode, null);
    assert.match(byName.error ?? '', /^refused: localhost resolves to a loopback, private or reserved address/);
    const literal = await sendWebhook({ ...base, url: `http://127.0.0.1:${target.port}/` }, policy);
    assert.match(literal.error ?? '', /^refused: target address 127\.0\.0\.1/);
    assert.equal(target.hits(), 0);
    // The same sender reaches it when private targets are allowed: the refusal above is the guard.
    const open = await sendWebhook({ ...base, url: `http://localhost:${target.port}/` }, new TargetPolicy({ allowPrivate: true, allowedHosts: [] }));
    assert.equal(open.ok, true);
    assert.equal(target.hits(), 1);
  });

  it('classifies addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '169.254.169.254',
      '100.100.100.200',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      '224.0.0.1',
      '255.255.255.255',
      '::7f00:1',
      '::127.0.0.1',
      '::8.8.8.8',
      '2002:7f00:1::',
      '2002:808:808::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '::ffff:0:127.0.0.1',
      '0:0:0:0:0:ffff:7f00:1',
    ]) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2001:4860:4860::8888']) {
      assert.equal(isPrivateAddress(ip), false, ip);
    }
  });
});
