// The chat benchmark's lightweight receiver against a real `ws` server: it counts only the frames
// that start with its prefix, reads sampled payloads whole even when a frame is split across
// reads, and answers pings (so a server's heartbeat keeps it).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameCounter } from '../bench/lib/frame-counter.js';

const PREFIX = Buffer.from('{"event_type":"chat.message"');

describe('bench FrameCounter', () => {
  let wss: WebSocketServer;
  let url: string;
  const peers: WebSocket[] = [];

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/any/path?x=1`;
    wss.on('connection', (ws) => {
      peers.push(ws);
      ws.send(JSON.stringify({ event_type: 'chat.history', messages: [] }));
    });
  });

  after(async () => {
    for (const p of peers) p.terminate();
    await new Promise((r) => wss.close(r));
  });

  it('counts message frames, skips others, and hands sampled payloads over whole', async () => {
    let counted = 0;
    const payloads: string[] = [];
    const counter = await FrameCounter.open(url, {
      prefix: PREFIX,
      onCount: (n) => (counted += n),
      onPayload: (buf, start, end) => payloads.push(buf.toString('utf8', start, end)),
    });
    assert.equal(counter.open, true);
    while (peers.length < 1) await new Promise((r) => setTimeout(r, 5));
    const peer = peers[0];
    const raw = (peer as unknown as { _socket: Socket })._socket;
    const small = JSON.stringify({ event_type: 'chat.message', message: '1|2.5' });
    const big = JSON.stringify({ event_type: 'chat.message', message: `2|3.5 ${'x'.repeat(70_000)}` });
    peer.send(small);
    peer.send(JSON.stringify({ event_type: 'chat.deleted', comment_id: 'c' }));
    // A frame split across writes (and so, usually, across reads).
    raw.cork();
    peer.send(big);
    raw.uncork();
    peer.send(small);
    const pong = once(peer, 'pong');
    peer.ping(Buffer.from('hi'));
    const [data] = (await pong) as [Buffer];
    assert.equal(data.toString(), 'hi');
    while (counted < 3) await new Promise((r) => setTimeout(r, 5));
    assert.equal(counted, 3);
    assert.deepEqual(payloads, [small, big, small]);
    counter.close();
  });

  it('counts without holding payloads when not sampled', async () => {
    let counted = 0;
    const counter = await FrameCounter.open(url, { prefix: PREFIX, onCount: (n) => (counted += n) });
    while (peers.length < 2) await new Promise((r) => setTimeout(r, 5));
    const peer = peers[1];
    for (let i = 0; i < 500; i++) peer.send(JSON.stringify({ event_type: 'chat.message', message: `${i}|${'y'.repeat(i * 7)}` }));
    while (counted < 500) await new Promise((r) => setTimeout(r, 5));
    assert.equal(counted, 500);
    counter.close();
  });
});
