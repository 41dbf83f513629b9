// Live chat on one embedded Nova (SQLite, in-process relay), over real WebSockets: broadcast to 50
// clients, history, every chat.error code, moderation, slow mode, bans, stream end, outbox rows;
// then the per-address socket cap, on SQLite and Postgres, under parallel connects.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestNova, startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import type { NovaClient, Problem, UserInfo } from '../src/client/nova-client.js';
import { ChatSocket, banFromChat, chatBans, chatHistory, chatSettings, deleteChatMessage, putChatSettings, unbanFromChat, type ChatMessage } from '../src/client/chat.client.js';

interface Actor {
  client: NovaClient;
  user: UserInfo;
  token: string;
}

async function actor(t: TestNova, prefix: string): Promise<Actor> {
  const { client, user } = await t.client.newUser(prefix);
  return { client, user, token: client.token! };
}

async function createStream(a: Actor, title = 'chat test'): Promise<string> {
  const res = await a.client.post<{ stream: { id: string } }>('/api/v1/streams', { title });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.stream.id;
}

const CONTRACT_FIELDS = ['comment_id', 'created_at', 'event_type', 'message', 'stream_id', 'user_id', 'username'];

describe('chat over WebSocket (embedded)', () => {
  let t: TestNova;
  let admin: Actor;
  let creator: Actor;
  let viewer: Actor;
  let streamId: string;
  const sockets: ChatSocket[] = [];
  const open = async (sid: string, token?: string | null, opts: Parameters<typeof ChatSocket.open>[2] = {}) => {
    const s = await ChatSocket.open(t.url, sid, { token, ...opts });
    sockets.push(s);
    return s;
  };

  before(async () => {
    // Pings (and the ended-stream sweep) every second, so reaping is quick to observe.
    t = await startTestNova({ CHAT_PING_INTERVAL_SECONDS: '1' });
    admin = await actor(t, 'admin'); // the first account is the instance's admin
    creator = await actor(t, 'creator');
    viewer = await actor(t, 'viewer');
    streamId = await createStream(creator);
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    await t.stop();
  });

  it('one message reaches all 50 clients once with the contract fields; history has it', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => open(streamId, i % 2 ? viewer.token : null)));
    await Promise.all(clients.map((c) => c.history()));
    const sender = clients[1];
    sender.send('hello everyone');
    const got = await Promise.all(clients.map((c) => c.message((m) => m.message === 'hello everyone')));
    for (const e of got) {
      assert.deepEqual(Object.keys(e).sort(), CONTRACT_FIELDS);
      assert.equal(e.stream_id, streamId);
      assert.equal(e.user_id, viewer.user.id);
      assert.equal(e.username, viewer.user.username);
      assert.match(e.comment_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(e.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(e.comment_id, got[0].comment_id);
    }
    // "Once": a marker sent afterwards arrives after everything for this message, then count.
    sender.send('marker one');
    await Promise.all(clients.map((c) => c.message((m) => m.message === 'marker one')));
    for (const c of clients) assert.equal(c.messages().filter((m) => m.message === 'hello everyone').length, 1);

    const late = await open(streamId);
    const history = await late.history();
    const found = history.messages.find((m) => m.comment_id === got[0].comment_id);
    assert.ok(found, 'history on a new connection has the message');
    assert.deepEqual(
      Object.keys(found).sort(),
      CONTRACT_FIELDS.filter((f) => f !== 'event_type'),
    );
    await Promise.all(clients.map((c) => c.close()));
  });

  it('rejects empty, too long, unauthenticated and malformed sends with the right codes', async () => {
    const anon = await open(streamId);
    const bad = await open(streamId, 'nova_not-a-real-token');
    const me = await open(streamId, creator.token, { tokenInHeader: true });
    await Promise.all([anon.history(), bad.history(), me.history()]);

    me.send('   \t\n  ');
    assert.match((await me.error('empty')).detail, /empty/);
    me.send('x'.repeat(501));
    assert.match((await me.error('too_long')).detail, /500/);
    me.send('y'.repeat(500));
    await me.message((m) => m.message === 'y'.repeat(500));

    anon.send('hi from nobody');
    assert.match((await anon.error('unauthenticated')).detail, /token/);
    bad.send('hi with a bad token');
    assert.match((await bad.error('unauthenticated')).detail, /invalid or expired/);

    me.sendRaw('not json {');
    assert.match((await me.error('malformed')).detail, /JSON/);
    me.sendRaw(Buffer.from('{"type":"chat.send","message":"bin"}'), true);
    await me.waitFor((e) => e.event_type === 'chat.error' && e.code === 'malformed' && /text/.test(e.detail));
    me.sendRaw('{"type":"chat.dance"}');
    await me.waitFor((e) => e.event_type === 'chat.error' && e.code === 'malformed' && /Unknown frame type/.test(e.detail));
    me.sendRaw('{"type":"chat.send","message":42}');
    await me.waitFor((e) => e.event_type === 'chat.error' && e.code === 'malformed' && /string/.test(e.detail));
    me.sendRaw(JSON.stringify({ type: 'chat.send', message: 'z'.repeat(20_000) }));
    await me.waitFor((e) => e.event_type === 'chat.error' && e.code === 'too_long' && e !== undefined, 15_000);
    // The socket survived all of that and still works.
    me.send('still here');
    await me.message((m) => m.message === 'still here');
    // Errors go to the sender only.
    assert.equal(anon.events.filter((e) => e.event_type === 'chat.error').length, 1);
  });

  it('delivers HTML verbatim and strips control characters', async () => {
    const me = await open(streamId, creator.token);
    const other = await open(streamId);
    await Promise.all([me.history(), other.history()]);
    const html = '<script>alert(1)</script> & <b>"bold"</b>';
    me.send(html);
    assert.equal((await other.message((m) => m.message.includes('alert'))).message, html);
    me.send('  a\u0000b\u0007c\u202Ed\u2066e\nf  ');
    assert.equal((await other.message((m) => m.message.startsWith('ab'))).message, 'abcde f');
    const page = await chatHistory(t.client, streamId, { limit: 5 });
    assert.ok(page.body.messages.some((m) => m.message === html));
  });

  it('floods are rate limited (3 per 2 s, then muted); the creator and admins are exempt', async () => {
    const flooder = await actor(t, 'flooder');
    const me = await open(streamId, flooder.token);
    await me.history();
    for (let i = 0; i < 6; i++) me.send(`flood ${i}`);
    const err = await me.error('rate_limited');
    assert.match(err.detail, /muted for 10 s/);
    await me.message((m) => m.message === 'flood 2');
    // Muted: even after the bucket would have refilled a little, nothing gets through.
    me.send('during mute');
    await me.waitFor((e) => e.event_type === 'chat.error' && e.code === 'rate_limited' && /muted/.test(e.detail));
    assert.equal(me.messages().filter((m) => m.message.startsWith('flood')).length, 3);
    assert.ok(!me.messages().some((m) => m.message === 'during mute'));

    for (const who of [creator, admin]) {
      const s = await open(streamId, who.token);
      await s.history();
      for (let i = 0; i < 8; i++) s.send(`${who.user.username} burst ${i}`);
      await s.message((m) => m.message === `${who.user.username} burst 7`);
      assert.ok(!s.events.some((e) => e.event_type === 'chat.error'));
    }
  });

  it('slow mode: one message per N seconds per user; only moderators change it', async () => {
    const sid = await createStream(creator, 'slow');
    assert.equal((await putChatSettings(viewer.client, sid, 30)).status, 403);
    assert.equal((await putChatSettings(t.client.as(null), sid, 30)).status, 401);
    assert.equal((await putChatSettings(creator.client, sid, 999_999)).status, 400);
    const slowpoke = await actor(t, 'slowpoke');
    const me = await open(sid, slowpoke.token);
    await me.history();
    const set = await putChatSettings(creator.client, sid, 30);
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { stream_id: sid, slow_mode_seconds: 30 });
    await me.waitFor((e) => e.event_type === 'chat.settings' && e.slow_mode_seconds === 30);
    assert.equal((await chatSettings(t.client.as(null), sid)).body.slow_mode_seconds, 30);
    me.send('first');
    await me.message((m) => m.message === 'first');
    me.send('second');
    const err = await me.error('slow_mode');
    assert.match(err.detail, /30 s/);
    // The creator is exempt.
    const c = await open(sid, creator.token);
    await c.history();
    c.send('c1');
    c.send('c2');
    await c.message((m) => m.message === 'c2');
    await putChatSettings(admin.client, sid, 0);
    await me.waitFor((e) => e.event_type === 'chat.settings' && e.slow_mode_seconds === 0);
  });

  it('bans: refused sends, open sockets told, lifted; only moderators; moderators cannot be banned', async () => {
    const sid = await createStream(creator, 'bans');
    const troll = await actor(t, 'troll');
    const s = await open(sid, troll.token);
    const bystander = await open(sid);
    await Promise.all([s.history(), bystander.history()]);
    assert.equal((await banFromChat(viewer.client, sid, troll.user.id)).status, 403);
    assert.equal((await banFromChat(t.client.as(null), sid, troll.user.id)).status, 401);
    assert.equal((await banFromChat(creator.client, sid, creator.user.id)).status, 422);
    assert.equal((await banFromChat(creator.client, sid, admin.user.id)).status, 422);
    assert.equal((await banFromChat(creator.client, sid, '0190a0a0-0000-7000-8000-000000000000')).status, 422);
    const ban = await banFromChat(creator.client, sid, troll.user.id);
    assert.equal(ban.status, 201);
    assert.equal(ban.body.user_id, troll.user.id);
    assert.equal((await banFromChat(admin.client, sid, troll.user.id)).status, 200);
    const told = await s.error('banned');
    assert.match(told.detail, /banned/);
    assert.ok(!bystander.events.some((e) => e.event_type === 'chat.error'), 'only the banned user is told');
    s.send('let me talk');
    await s.waitFor((e) => e.event_type === 'chat.error' && e.code === 'banned' && e !== told);
    assert.deepEqual(
      (await chatBans(creator.client, sid)).body.bans.map((b) => b.user_id),
      [troll.user.id],
    );
    assert.equal((await chatBans(viewer.client, sid)).status, 403);

    assert.equal((await unbanFromChat(viewer.client, sid, troll.user.id)).status, 403);
    assert.equal((await unbanFromChat(creator.client, sid, troll.user.id)).status, 204);
    assert.equal((await unbanFromChat(creator.client, sid, troll.user.id)).status, 404);
    await s.waitFor((e) => e.event_type === 'chat.unbanned');
    s.send('thanks');
    await bystander.message((m) => m.message === 'thanks');
    // A new socket of a banned user is refused too (the ban is loaded with the room).
    await banFromChat(creator.client, sid, troll.user.id);
    const again = await open(sid, troll.token);
    await again.history();
    again.send('new socket');
    await again.error('banned');
  });

  it('delete: everyone gets chat.deleted, history drops it; only moderators', async () => {
    const sid = await createStream(creator, 'delete');
    const author = await actor(t, 'author');
    const a = await open(sid, author.token);
    const b = await open(sid);
    await Promise.all([a.history(), b.history()]);
    a.send('keep me');
    a.send('delete me');
    const doomed = await b.message((m) => m.message === 'delete me');
    assert.equal((await deleteChatMessage(viewer.client, sid, doomed.comment_id)).status, 403);
    assert.equal((await deleteChatMessage(t.client.as(null), sid, doomed.comment_id)).status, 401);
    const missing = await deleteChatMessage(creator.client, sid, '0190a0a0-0000-7000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as Problem).title, 'Not Found');
    assert.equal((await deleteChatMessage(creator.client, sid, doomed.comment_id)).status, 204);
    for (const s of [a, b]) await s.waitFor((e) => e.event_type === 'chat.deleted' && e.comment_id === doomed.comment_id);
    // Deleting again is harmless.
    assert.equal((await deleteChatMessage(admin.client, sid, doomed.comment_id)).status, 204);
    const page = await chatHistory(t.client, sid);
    assert.deepEqual(
      page.body.messages.map((m) => m.message),
      ['keep me'],
    );
    const fresh = await open(sid);
    assert.deepEqual(
      (await fresh.history()).messages.map((m) => m.message),
      ['keep me'],
    );
  });

  it('history pages: limit and before, newest last; validation and unknown streams', async () => {
    const sid = await createStream(creator, 'pages');
    const s = await open(sid, creator.token);
    await s.history();
    for (let i = 0; i < 7; i++) s.send(`m${i}`);
    await s.message((m) => m.message === 'm6');
    const last3 = await chatHistory(t.client, sid, { limit: 3 });
    assert.deepEqual(
      last3.body.messages.map((m: ChatMessage) => m.message),
      ['m4', 'm5', 'm6'],
    );
    const older = await chatHistory(t.client, sid, { limit: 3, before: last3.body.messages[0].comment_id });
    assert.deepEqual(
      older.body.messages.map((m) => m.message),
      ['m1', 'm2', 'm3'],
    );
    assert.equal((await chatHistory(t.client, sid, { limit: 0 })).status, 400);
    const badBefore = await t.client.get<Problem>(`/api/v1/streams/${sid}/chat/messages?before=nope`);
    assert.equal(badBefore.status, 400);
    const unknown = '0190a0a0-0000-7000-8000-000000000000';
    assert.equal((await chatHistory(t.client, unknown)).status, 404);
    await assert.rejects(ChatSocket.open(t.url, unknown), (err: Error & { status?: number }) => err.status === 404);
    await assert.rejects(ChatSocket.open(t.url, 'not-a-uuid'), (err: Error & { status?: number }) => err.status === 400);
  });

  it('each accepted message and deletion is in the streams.chat outbox', async () => {
    const sid = await createStream(creator, 'outbox');
    const s = await open(sid, (await actor(t, 'outboxer')).token);
    await s.history();
    s.send('for the outbox');
    const m = await s.message((x) => x.message === 'for the outbox');
    await deleteChatMessage(creator.client, sid, m.comment_id);
    const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['topic', 'event_type', 'event_key', 'payload']).where('event_key', '=', sid).orderBy('seq').execute();
    assert.deepEqual(
      rows.map((r) => [r.topic, r.event_type]),
      [
        ['streams.chat', 'chat.message'],
        ['streams.chat', 'chat.deleted'],
      ],
    );
    const payload = JSON.parse(rows[0].payload);
    for (const f of CONTRACT_FIELDS) assert.ok(f in payload, `outbox payload has ${f}`);
    assert.equal(payload.comment_id, m.comment_id);
    assert.equal(JSON.parse(rows[1].payload).comment_id, m.comment_id);
  });

  it('chat sockets count as viewers; when a live stream ends, sockets get chat.closed and close', async () => {
    const sid = await createStream(creator, 'ending');
    // The encoder's side is the live suite's business: mark the stream live as a publish would.
    await t.nova.container.db.kysely.updateTable('streams').set({ status: 'live', started_at: new Date().toISOString() }).where('id', '=', sid).execute();
    const leaver = await actor(t, 'leaver');
    const a = await open(sid, leaver.token);
    const a2 = await open(sid, leaver.token);
    const b = await open(sid);
    const c = await open(sid, null, { viewer: 'player-viewer-1' });
    await Promise.all([a.history(), a2.history(), b.history(), c.history()]);
    const stream = await t.client.get<{ viewer_count: number }>(`/api/v1/streams/${sid}`);
    assert.equal(stream.body.viewer_count, 3, 'one user with two sockets counts once; two anonymous viewers');
    await a2.close();
    a.send('bye');
    await b.message((m) => m.message === 'bye');
    const end = await creator.client.post(`/api/v1/streams/${sid}/end`);
    assert.ok(end.status < 300, `end: ${end.status} ${JSON.stringify(end.body)}`);
    for (const s of [a, b, c]) {
      await s.waitFor((e) => e.event_type === 'chat.closed');
      assert.equal((await s.closed).code, 1000);
    }
    const late = await open(sid, leaver.token);
    assert.deepEqual(
      (await late.history()).messages.map((m) => m.message),
      ['bye'],
    );
    await late.waitFor((e) => e.event_type === 'chat.closed');
    await late.closed;
    // The history stays readable over HTTP.
    assert.equal((await chatHistory(t.client, sid)).body.messages.length, 1);
  });

  it('an idle stream that ends closes its chat too', async () => {
    const sid = await createStream(creator, 'never live');
    const a = await open(sid);
    await a.history();
    assert.ok((await creator.client.post(`/api/v1/streams/${sid}/end`)).status < 300);
    await a.waitFor((e) => e.event_type === 'chat.closed');
    assert.equal((await a.closed).code, 1000);
  });

  it('a socket that stops answering pings is reaped', async () => {
    const sid = await createStream(creator, 'reap');
    const mute = await open(sid, null, { autoPong: false });
    await mute.history();
    const { code } = await mute.closed;
    assert.equal(code, 1006, 'terminated without a close frame');
    const metrics = await t.client.get<string>('/metrics');
    assert.match(metrics.body, /nova_chat_dropped_total\{reason="dead"\} [1-9]/);
  });
});

/** `n` sockets opened in parallel; retried until the server has seen earlier ones go (10 s at most). */
async function openAll(url: string, sid: string, n: number): Promise<ChatSocket[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await Promise.allSettled(Array.from({ length: n }, () => ChatSocket.open(url, sid, {})));
    const opened = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (opened.length === n) return opened;
    await Promise.all(opened.map((s) => s.close()));
    if (Date.now() > deadline) assert.fail(`only ${opened.length} of ${n} sockets open: a slot is still held`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends an upgrade request by hand and returns the status line's code (0 when the server just closes). */
function rawUpgrade(url: string, path: string, key: string, abort = false): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: hostname, port: Number(port) }, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      if (abort) s.destroy();
    });
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n')) s.destroy();
    });
    s.on('error', (err) => (abort ? undefined : reject(err)));
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)));
  });
}

const CAP = 2;
for (const backend of TEST_BACKENDS) {
  describe(`chat sockets per client address (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    before(async () => {
      const started = await startTestNovaOn(backend, { CHAT_MAX_SOCKETS_PER_ADDRESS: String(CAP) });
      if (typeof started === 'string') return void (skip = started);
      t = started;
    });
    after(async () => t?.stop());

    it('refuses more sockets from one address than CHAT_MAX_SOCKETS_PER_ADDRESS, before the upgrade', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const creator = await actor(t, 'creator');
      const sid = await createStream(creator);
      const first = await ChatSocket.open(t.url, sid, {});
      const second = await ChatSocket.open(t.url, sid, {});
      try {
        await first.history();
        await assert.rejects(ChatSocket.open(t.url, sid, {}), (err: Error & { status?: number }) => err.status === 429);
        await first.close();
        // Its slot is free once the server saw it close.
        const [third] = await openAll(t.url, sid, 1);
        await third.close();
      } finally {
        await second.close().catch(() => {});
        await first.close().catch(() => {});
      }
    });

    it('30 parallel upgrades from one address open exactly the cap; failed and closed attempts hold no slot', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const creator = await actor(t, 'racer');
      const sid = await createStream(creator, 'race');
      const missing = '0190a0a0-0000-7000-8000-000000000000';
      const statusOf = (err: unknown) => (err as { status?: number }).status;
      const burst = (streamId: string) => Promise.allSettled(Array.from({ length: 30 }, () => ChatSocket.open(t.url, streamId, {})));

      for (let round = 0; round < 3; round++) {
        const got = await burst(sid);
        const opened = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const refused = got.flatMap((r) => (r.status === 'rejected' ? [statusOf(r.reason)] : []));
        try {
          assert.equal(opened.length, CAP, `round ${round}: ${opened.length} sockets open`);
          assert.deepEqual(new Set(refused), new Set([429]), `round ${round}: refusals ${refused.join(',')}`);
          await Promise.all(opened.map((s) => s.history()));
        } finally {
          await Promise.all(opened.map((s) => s.close()));
        }
        // Every slot comes free again once the server has seen the sockets close.
        await Promise.all((await openAll(t.url, sid, CAP)).map((s) => s.close()));
      }

      // Attempts that fail after taking a slot give it back: an unknown stream (404), a handshake
      // the WebSocket layer rejects (400), clients that hang up before the upgrade.
      const unknown = await burst(missing);
      const codes = unknown.map((r) => (r.status === 'rejected' ? statusOf(r.reason) : 101));
      assert.ok(codes.includes(404) && codes.every((c) => c === 404 || c === 429), `unknown stream: ${codes.join(',')}`);
      const path = `/api/v1/streams/${sid}/chat/ws`;
      assert.equal(await rawUpgrade(t.url, path, 'not-a-key'), 400);
      await Promise.all(Array.from({ length: 20 }, () => rawUpgrade(t.url, path, 'dGhlIHNhbXBsZSBub25jZQ==', true)));

      const again = await openAll(t.url, sid, CAP);
      try {
        await assert.rejects(ChatSocket.open(t.url, sid, {}), (err: Error & { status?: number }) => err.status === 429);
      } finally {
        await Promise.all(again.map((s) => s.close()));
      }
    });
  });
}

for (const backend of TEST_BACKENDS) {
  describe(`chat sockets per process (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    const MAX = 3;
    before(async () => {
      const started = await startTestNovaOn(backend, { CHAT_MAX_SOCKETS: String(MAX), CHAT_MAX_SOCKETS_PER_ADDRESS: '0' });
      if (typeof started === 'string') return void (skip = started);
      t = started;
    });
    after(async () => t?.stop());

    it('20 parallel upgrades open exactly CHAT_MAX_SOCKETS; the rest get 503; closed sockets free their slots', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const creator = await actor(t, 'full');
      const sid = await createStream(creator, 'full house');
      for (let round = 0; round < 2; round++) {
        const got = await Promise.allSettled(Array.from({ length: 20 }, () => ChatSocket.open(t.url, sid, {})));
        const opened = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const refused = got.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { status?: number }).status] : []));
        try {
          assert.equal(opened.length, MAX, `round ${round}: ${opened.length} sockets open`);
          assert.deepEqual(new Set(refused), new Set([503]), `round ${round}: refusals ${refused.join(',')}`);
        } finally {
          await Promise.all(opened.map((s) => s.close()));
        }
        await Promise.all((await openAll(t.url, sid, MAX)).map((s) => s.close()));
      }
    });
  });
}
