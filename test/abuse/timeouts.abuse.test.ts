// Finding 7: slow and idle clients cannot hold the HTTP server's connections. Headers and request
// bodies must arrive within their timeouts (trickling bytes does not help), idle keep-alive
// connections are closed, a tus PATCH may stream slowly but not sit idle, and one address cannot
// open more than HTTP_MAX_CONNECTIONS_PER_ADDRESS connections.
import assert from 'node:assert/strict';
import type net from 'node:net';
import netModule from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NovaClient } from '../../src/client/nova-client.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';
import { closedBy, connect, hold, portOf } from './abuse.helpers.js';

const PER_ADDRESS = 20;

/** Writes `chunk` every `everyMs` until the socket closes or `stop()` is called. */
function trickle(socket: net.Socket, chunk: string, everyMs: number): { stop(): void; sent(): number } {
  let n = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(chunk);
    n++;
  }, everyMs);
  return { stop: () => clearInterval(timer), sent: () => n };
}

describe('abuse: HTTP timeouts and connection caps', () => {
  let t: TestNova;
  let port: number;
  const opened: net.Socket[] = [];

  before(async () => {
    t = await startTestNova({
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
      UPLOAD_IDLE_TIMEOUT_MS: '1500',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
    });
    port = portOf(t.url);
  });
  after(async () => {
    for (const s of opened) s.destroy();
    await t?.stop();
  });

  it('closes a connection whose headers trickle in (slowloris)', async () => {
    const s = await connect(port);
    opened.push(s);
    s.write('GET /healthz HTTP/1.1\r\nHost: nova\r\n');
    const drip = trickle(s, 'X-Slow: 1\r\n', 200);
    await closedBy(s);
    drip.stop();
    assert.ok(drip.sent() > 0);
  });

  it('closes a connection whose body trickles in (slow POST)', async () => {
    const s = await connect(port);
    opened.push(s);
    s.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: nova\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"username":"');
    const drip = trickle(s, 'a', 200);
    await closedBy(s);
    drip.stop();
    // 100,000 bytes at 5 a second would take hours: the request timeout ended it.
    assert.ok(drip.sent() < 100_000);
  });

  it('closes an idle keep-alive connection', async () => {
    const s = await connect(port);
    opened.push(s);
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.write('GET /healthz HTTP/1.1\r\nHost: nova\r\nConnection: keep-alive\r\n\r\n');
    await closedBy(s);
    assert.match(answer, /^HTTP\/1\.1 200/);
  });

  it('lets a tus PATCH stream past the request timeout while bytes flow, and closes it once idle', async () => {
    const user = (await t.client.newUser('slowup')).client;
    const created = await user.post<{ upload: { url: string } }>('/api/v1/videos', { title: 'slow upload' });
    const endpoint = new URL(created.body.upload.url).pathname;
    const made = await fetch(`${t.url}${endpoint}`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'tus-resumable': '1.0.0', 'upload-length': '100000' } });
    assert.equal(made.status, 201);
    const location = new URL(made.headers.get('location')!).pathname;
    const s = await connect(port);
    opened.push(s);
    s.write(
      `PATCH ${location} HTTP/1.1\r\nHost: nova\r\nAuthorization: Bearer ${user.token}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 100000\r\n\r\n`,
    );
    let closed = false;
    void closedBy(s).then(() => (closed = true));
    // Twice the request timeout (2 s) of steady bytes: a PATCH is not held to it.
    const drip = trickle(s, 'x'.repeat(10), 100);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(closed, false, 'a flowing upload was cut');
    drip.stop();
    await closedBy(s);
    // The bytes that arrived are kept: the upload resumes from there.
    const head = await fetch(`${t.url}${location}`, { method: 'HEAD', headers: { authorization: `Bearer ${user.token}`, 'tus-resumable': '1.0.0' } });
    assert.ok(Number(head.headers.get('upload-offset')) > 0);
  });

  it('refuses connections from one address past the cap at once; another address is served', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => connect(port, '127.0.0.8').catch(() => null)));
    const live = sockets.filter((s): s is net.Socket => s !== null);
    opened.push(...live);
    let closedCount = 0;
    await Promise.race([
      Promise.all(live.map((s) => closedBy(s).then(() => closedCount++))),
      (async () => {
        while (closedCount < 50 - PER_ADDRESS) await new Promise((r) => setTimeout(r, 50));
      })(),
    ]);
    assert.equal(closedCount, 50 - PER_ADDRESS);
    const still = live.filter((s) => !s.destroyed);
    assert.equal(still.length, PER_ADDRESS);
    // Those within the cap are served.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      still[0]!.on('data', (d) => {
        text += d;
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      still[0]!.write('GET /healthz HTTP/1.1\r\nHost: nova\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    const other = await hold(`${t.url}/healthz`, { from: '127.0.0.9' });
    assert.equal(other.status, 200);
  });
});

describe('typed client and a kept-alive socket the server closed', () => {
  it('sends an idempotent request again once on a new connection; a POST is not resent', async () => {
    // Every connection answers its first request (keep-alive) and closes when a second one arrives,
    // as a server whose idle timeout fired just as the client reused the socket.
    const received: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = netModule.createServer((socket) => {
      sockets.add(socket);
      let answered = false;
      socket.on('data', (chunk) => {
        const line = chunk.toString('latin1').split('\r\n')[0]!;
        if (answered) return void socket.destroy();
        answered = true;
        received.push(line);
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\n{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new NovaClient(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    try {
      assert.equal((await client.get('/a')).status, 200);
      assert.equal((await client.get('/b')).status, 200, 'sent again on a new connection');
      assert.equal((await client.delete('/c')).status, 200);
      await assert.rejects(client.post('/d', {}), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'UND_ERR_SOCKET');
      assert.deepEqual(received, ['GET /a HTTP/1.1', 'GET /b HTTP/1.1', 'DELETE /c HTTP/1.1']);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
