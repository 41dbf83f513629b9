// Finding 5: webhook targets written in IPv6 transition forms around a loopback or private IPv4
// address (IPv4-compatible ::a.b.c.d, 6to4 2002::/16, Teredo 2001::/32) are refused with 422, and
// a listener on loopback is never reached.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { NovaClient } from '../../src/client/nova-client.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';

describe('abuse: webhook SSRF through IPv6 transition addresses', () => {
  let t: TestNova;
  let user: NovaClient;
  let hits = 0;
  let target: http.Server;
  let port: number;

  before(async () => {
    target = http.createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    port = (target.address() as { port: number }).port;
    t = await startTestNova({ WEBHOOKS_ALLOW_PRIVATE: 'false' });
    user = (await t.client.newUser('hooks')).client;
  });
  after(async () => {
    await t?.stop();
    target?.close();
  });

  it('refuses each form with 422 problem+json naming the url', async () => {
    for (const url of [
      `http://[::7f00:1]:${port}/`,
      `http://[::127.0.0.1]:${port}/`,
      `http://[::a00:1]:${port}/`, // ::10.0.0.1
      `http://[::a9fe:a9fe]:${port}/`, // ::169.254.169.254
      `http://[2002:7f00:1::]:${port}/`,
      `http://[2002:a9fe:a9fe::1]:${port}/`,
      `http://[2002:808:808::1]:${port}/`, // 6to4 carries any address: the whole prefix is refused
      `http://[2001:0:7f00:1::]:${port}/`, // Teredo
      `http://[2001::ffff:80ff:fffe]:${port}/`,
      `http://[::ffff:0:7f00:1]:${port}/`, // SIIT-translated 127.0.0.1
      `http://[64:ff9b::7f00:1]:${port}/`, // NAT64 of 127.0.0.1
    ]) {
      const res = await user.post<{ detail: string; errors?: Array<{ field: string }> }>('/api/v1/webhooks', { url, events: ['video.ready'] });
      assert.equal(res.status, 422, `${url} must be refused, got ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.deepEqual(
        res.body.errors?.map((e) => e.field),
        ['url'],
      );
    }
    assert.equal(hits, 0);
  });

  it('still accepts a public IPv6 and IPv4-mapped public address', async () => {
    for (const url of ['http://[2606:4700:4700::1111]/hook', 'http://[::ffff:8.8.8.8]/hook']) {
      const res = await user.post('/api/v1/webhooks', { url, events: ['video.ready'] });
      assert.equal(res.status, 201, `${url}: ${JSON.stringify(res.body)}`);
    }
  });
});
