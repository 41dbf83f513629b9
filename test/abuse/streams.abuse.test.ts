// Finding 3: long-lived connections are capped per client address and per process (progress SSE
// and WebSocket, trending SSE, chat), and all progress streams of one video share one poller.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { NovaClient } from '../../src/client/nova-client.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';
import { hold, metric, type HeldResponse } from './abuse.helpers.js';

const PER_ADDRESS = 20;
const TOTAL = 30;
const CHAT_PER_ADDRESS = 10;

/** Opens a WebSocket from `from`; resolves with the socket, or the HTTP status that refused it. */
function openSocket(url: string, from: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: from, headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', reject);
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('abuse: caps on long-lived connections', () => {
  let t: TestNova;
  let user: NovaClient;
  let token: string;
  let videoId: string;
  const held: HeldResponse[] = [];
  const sockets: WebSocket[] = [];

  before(async () => {
    t = await startTestNova({ STREAMS_MAX_PER_ADDRESS: String(PER_ADDRESS), STREAMS_MAX: String(TOTAL), CHAT_MAX_SOCKETS_PER_ADDRESS: String(CHAT_PER_ADDRESS) });
    user = (await t.client.newUser('streams')).client;
    token = user.token!;
    const v = await user.post<{ video: { id: string } }>('/api/v1/videos', { title: 'watched' });
    videoId = v.body.video.id;
  });

  after(async () => {
    for (const h of held) h.close();
    for (const s of sockets) s.terminate();
    await t?.stop();
  });

  it('60 progress streams of one video from one address: 20 accepted, 40 refused with 429, one poller', async () => {
    const url = `${t.url}/api/v1/videos/${videoId}/progress/stream`;
    const answers = await Promise.all(Array.from({ length: 60 }, () => hold(url, { headers: { authorization: `Bearer ${token}` }, from: '127.0.0.1' })));
    held.push(...answers);
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(ok.length, PER_ADDRESS);
    assert.equal(refused.length, 60 - PER_ADDRESS);
    await Promise.all(refused.map((r) => r.ended));
    for (const r of refused) {
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      assert.match(JSON.parse(r.body()).detail, /from your address/);
    }
    // The WebSocket twin counts in the same pool.
    assert.equal(await openSocket(`${t.url.replace('http', 'ws')}/api/v1/videos/${videoId}/progress/ws`, '127.0.0.1', { authorization: `Bearer ${token}` }), 429);
    assert.equal(await metric(`${t.url}/metrics`, 'nova_progress_streams'), PER_ADDRESS);
    assert.equal(await metric(`${t.url}/metrics`, 'nova_progress_pollers'), 1, 'one poller for the video, whatever the number of streams');
  });

  it('other addresses fill the process-wide cap, then everyone is refused; slots come back on close', async () => {
    const url = `${t.url}/api/v1/videos/${videoId}/progress/stream`;
    const headers = { authorization: `Bearer ${token}` };
    const second = await Promise.all(Array.from({ length: TOTAL - PER_ADDRESS }, () => hold(url, { headers, from: '127.0.0.2' })));
    held.push(...second);
    assert.deepEqual(
      second.map((a) => a.status),
      second.map(() => 200),
    );
    const ws = await openSocket(`${t.url.replace('http', 'ws')}/api/v1/videos/${videoId}/progress/ws`, '127.0.0.3', headers);
    assert.equal(ws, 429, 'the process-wide cap holds for a fresh address too');
    const third = await hold(url, { headers, from: '127.0.0.3' });
    held.push(third);
    assert.equal(third.status, 429);
    assert.match(await third.ended.then(() => JSON.parse(third.body()).detail), /on this server/);
    for (const h of held.splice(0)) h.close();
    await until(async () => (await metric(`${t.url}/metrics`, 'nova_progress_streams')) === 0, 'progress slots to be freed');
    await until(async () => (await metric(`${t.url}/metrics`, 'nova_progress_pollers')) === 0, 'the poller to stop');
    const again = await hold(url, { headers, from: '127.0.0.1' });
    held.push(again);
    assert.equal(again.status, 200);
  });

  it('trending streams: one address gets its share, another address still gets in', async () => {
    const url = `${t.url}/api/v1/discover/trending/stream?window=24h&limit=5`;
    const answers = await Promise.all(Array.from({ length: 40 }, () => hold(url, { from: '127.0.0.4' })));
    held.push(...answers);
    assert.equal(answers.filter((a) => a.status === 200).length, PER_ADDRESS);
    assert.equal(answers.filter((a) => a.status === 429).length, 40 - PER_ADDRESS);
    const other = await hold(url, { from: '127.0.0.5' });
    held.push(other);
    assert.equal(other.status, 200);
    assert.equal(await metric(`${t.url}/metrics`, 'nova_trending_streams'), PER_ADDRESS + 1);
  });

  it('chat sockets: the per-address cap refuses the rest at once, another address connects', async () => {
    const s = await user.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'chatty' });
    const url = `${t.url.replace('http', 'ws')}/api/v1/streams/${s.body.stream.id}/chat/ws`;
    const results = await Promise.all(Array.from({ length: 30 }, () => openSocket(url, '127.0.0.6')));
    const open = results.filter((r): r is WebSocket => typeof r !== 'number');
    sockets.push(...open);
    assert.equal(open.length, CHAT_PER_ADDRESS);
    assert.deepEqual(
      results.filter((r) => typeof r === 'number'),
      Array(30 - CHAT_PER_ADDRESS).fill(429),
    );
    const other = await openSocket(url, '127.0.0.7');
    assert.notEqual(typeof other, 'number');
    sockets.push(other as WebSocket);
  });
});
