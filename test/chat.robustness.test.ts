// Chat under misbehaving peers and restarts, on an embedded Nova: a reader that stops reading is
// dropped once its unsent bytes pass the cap (instead of growing memory), and history survives a
// restart with SQLite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { ChatSocket, chatHistory } from '../src/client/chat.client.js';
import type { NovaClient } from '../src/client/nova-client.js';

async function createStream(c: NovaClient, title: string): Promise<string> {
  const res = await c.post<{ stream: { id: string } }>('/api/v1/streams', { title });
  assert.equal(res.status, 201);
  return res.body.stream.id;
}

/** A WebSocket client written by hand so it can stop reading: the handshake, then a paused socket. */
async function stalledReader(baseUrl: string, streamId: string): Promise<net.Socket> {
  const u = new URL(baseUrl);
  const sock = net.connect(Number(u.port), u.hostname);
  await once(sock, 'connect');
  sock.write(
    `GET /api/v1/streams/${streamId}/chat/ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const [first] = (await once(sock, 'data')) as [Buffer];
  assert.match(first.toString('latin1'), /^HTTP\/1\.1 101/);
  sock.pause();
  return sock;
}

async function metric(c: NovaClient, line: RegExp): Promise<number> {
  const m = line.exec((await c.get<string>('/metrics')).body);
  return m ? Number(m[1]) : 0;
}

describe('chat robustness (embedded)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('a reader that stops reading is dropped once its send buffer passes the cap; others are unaffected', async () => {
    const t = await startTestNova({ CHAT_MAX_BUFFERED_BYTES: String(64 * 1024), CHAT_PING_INTERVAL_SECONDS: '3600' });
    cleanup.push(() => t.stop());
    const { client: creator } = await t.client.newUser('creator');
    const sid = await createStream(creator, 'slow reader');
    const stalled = await stalledReader(t.url, sid);
    cleanup.push(async () => void stalled.destroy());
    const healthy = await ChatSocket.open(t.url, sid, { record: false });
    cleanup.push(() => healthy.close());
    let healthyCount = 0;
    const counting = await ChatSocket.open(t.url, sid, {
      record: false,
      onFrame: (d) => {
        if (d.includes('"event_type":"chat.message"')) healthyCount++;
        return false;
      },
    });
    cleanup.push(() => counting.close());
    const sender = await ChatSocket.open(t.url, sid, { token: creator.token, record: false });
    cleanup.push(() => sender.close());

    // The creator is exempt from rate limits: push ~650-byte frames until the kernel buffers of
    // the stalled connection are full and the server-side backlog passes 64 KiB.
    const text = 'x'.repeat(500);
    const dropped = /nova_chat_dropped_total\{reason="slow"\} (\d+)/;
    let sent = 0;
    const deadline = Date.now() + 60_000;
    while ((await metric(t.client, dropped)) === 0) {
      assert.ok(Date.now() < deadline, `no slow drop after ${sent} messages`);
      for (let i = 0; i < 500; i++) sender.send(text);
      sent += 500;
      while (healthyCount < sent) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await metric(t.client, dropped), 1, 'only the stalled reader was dropped');
    assert.equal(await metric(t.client, /nova_chat_sockets (\d+)/), 3);
    // Once it reads again it finds the connection closed by the server.
    stalled.resume();
    stalled.on('data', () => {});
    await once(stalled, 'close');
  });

  it('history survives a restart with SQLite', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-chat-restart-'));
    cleanup.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    let t: TestNova = await startTestNova({ DATA_DIR: dataDir });
    const { client: creator } = await t.client.newUser('creator');
    const sid = await createStream(creator, 'restart');
    const s = await ChatSocket.open(t.url, sid, { token: creator.token });
    await s.history();
    for (const m of ['one', 'two', 'three']) s.send(m);
    await s.message((m) => m.message === 'three');
    await s.close();
    await t.stop();
    t = await startTestNova({ DATA_DIR: dataDir });
    cleanup.push(() => t.stop());
    const again = await ChatSocket.open(t.url, sid);
    cleanup.push(() => again.close());
    assert.deepEqual(
      (await again.history()).messages.map((m) => m.message),
      ['one', 'two', 'three'],
    );
    assert.deepEqual(
      (await chatHistory(t.client, sid)).body.messages.map((m) => m.message),
      ['one', 'two', 'three'],
    );
  });
});
