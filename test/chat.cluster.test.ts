// Live chat scaled out: two Nova processes sharing one real Postgres database and one real Redis
// (unique key prefix per run). Messages, deletions and bans sent through one process reach the
// sockets of the other in one order; history survives restarting both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import type { NovaClient, UserInfo } from '../src/client/nova-client.js';
import { ChatSocket, banFromChat, chatHistory, deleteChatMessage } from '../src/client/chat.client.js';

const redisUrl = new URL(REDIS_TEST_URL);
const skip = (await postgresSkipReason()) || (await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379)));

describe('chat across two processes (Postgres + Redis)', { skip }, () => {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `nova-test:${run}:chat:`;
  let db: TestDatabase;
  let env: Record<string, string>;
  let a: TestNova;
  let b: TestNova;
  let creator: { client: NovaClient; user: UserInfo };
  let streamId: string;
  const sockets: ChatSocket[] = [];
  const open = async (t: TestNova, token?: string | null) => {
    const s = await ChatSocket.open(t.url, streamId, { token });
    sockets.push(s);
    await s.history();
    return s;
  };
  /** Visible messages in history order: by comment_id (UUID v7, creation time). */
  let visible: Array<{ comment_id: string; message: string }> = [];
  const expected = () => [...visible].sort((x, y) => (x.comment_id < y.comment_id ? -1 : 1)).map((m) => m.message);

  before(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, REDIS_URL: REDIS_TEST_URL, CHAT_REDIS_PREFIX: prefix, CHAT_HISTORY_SIZE: '10', QUEUE_PREFIX: `nova-test-${run}` };
    a = await startTestNova(env);
    b = await startTestNova(env);
    await a.client.newUser('admin');
    creator = await a.client.newUser('creator');
    const res = await creator.client.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'two nodes' });
    assert.equal(res.status, 201);
    streamId = res.body.stream.id;
  });

  after(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    await a?.stop();
    await b?.stop();
    const r = new Redis(REDIS_TEST_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    await db?.drop();
  });

  it('messages sent via A reach clients of B (and A) in one order', async () => {
    const onA = await Promise.all([1, 2, 3].map(() => open(a)));
    const onB = await Promise.all([1, 2, 3].map(() => open(b)));
    const viewerB = await b.client.newUser('viewer');
    const senderA = await open(a, creator.client.token);
    const senderB = await open(b, viewerB.client.token);
    for (let i = 0; i < 20; i++) senderA.send(`a${i}`);
    // Interleave a sender on B (within its rate limit) with A's burst.
    senderB.send('b0');
    senderB.send('b1');
    const everyone = [...onA, ...onB, senderA, senderB];
    await Promise.all(everyone.map((s) => s.message((m) => m.message === 'a19')));
    await Promise.all(everyone.map((s) => s.message((m) => m.message === 'b1')));
    const order = (s: ChatSocket) => s.messages().map((m) => m.message);
    for (const s of onB)
      assert.deepEqual(
        order(s).filter((m) => m.startsWith('a')),
        Array.from({ length: 20 }, (_, i) => `a${i}`),
        "A's messages arrive at B in order",
      );
    const reference = order(onA[0]);
    assert.equal(reference.length, 22);
    for (const s of everyone) assert.deepEqual(order(s), reference, 'every socket on both processes sees one order');
    visible = onA[0].messages();
  });

  it('deletions and bans made through one process reach sockets of the other', async () => {
    const watcherA = await open(a);
    const troll = await a.client.newUser('troll');
    const trollOnB = await open(b, troll.client.token);
    trollOnB.send('spam');
    const spam = await watcherA.message((m) => m.message === 'spam');
    assert.equal((await deleteChatMessage(creator.client.as(creator.client.token), streamId, spam.comment_id)).status, 204);
    await trollOnB.waitFor((e) => e.event_type === 'chat.deleted' && e.comment_id === spam.comment_id);
    await watcherA.waitFor((e) => e.event_type === 'chat.deleted' && e.comment_id === spam.comment_id);
    // Ban through A; the troll's socket on B is told and refused.
    assert.equal((await banFromChat(creator.client, streamId, troll.user.id)).status, 201);
    await trollOnB.error('banned');
    trollOnB.send('more spam');
    await trollOnB.waitFor((e) => e.event_type === 'chat.error' && e.code === 'banned' && trollOnB.events.filter((x) => x.event_type === 'chat.error').length >= 2);
  });

  it('restart both processes: history is intact, from Redis and from the database', async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    await a.stop();
    await b.stop();
    a = await startTestNova(env);
    b = await startTestNova(env);
    // History is 10 messages here, so the capped Redis list (22 visible messages) can serve it.
    const last10 = () => expected().slice(-10);
    const s = await ChatSocket.open(b.url, streamId);
    sockets.push(s);
    assert.deepEqual(
      (await s.history()).messages.map((m) => m.message),
      last10(),
    );
    assert.deepEqual(
      (await chatHistory(a.client, streamId)).body.messages.map((m) => m.message),
      last10(),
    );
    assert.deepEqual(
      (await chatHistory(a.client, streamId, { limit: 50 })).body.messages.map((m) => m.message),
      expected(),
    );
    const r = new Redis(REDIS_TEST_URL);
    const list = `${prefix}h:${streamId}`;
    try {
      // The list holds exactly the visible messages (the deleted one was removed)...
      const cached = (await r.lrange(list, 0, -1)).map((x) => JSON.parse(x));
      assert.deepEqual(cached.map((m) => m.message).sort(), expected().sort());
      // ...and it is what answers: a marked entry shows through.
      const newest = cached.reduce((x, y) => (x.comment_id > y.comment_id ? x : y));
      await r.lset(list, cached.indexOf(newest), JSON.stringify({ ...newest, message: 'served by redis' }));
      assert.equal((await chatHistory(b.client, streamId)).body.messages.at(-1)?.message, 'served by redis');
      // When Redis has lost the list, the database answers.
      await r.del(list);
    } finally {
      await r.quit();
    }
    assert.deepEqual(
      (await chatHistory(b.client, streamId)).body.messages.map((m) => m.message),
      last10(),
    );
    await Promise.all(sockets.splice(0).map((x) => x.close()));
    const fresh = await ChatSocket.open(a.url, streamId);
    sockets.push(fresh);
    assert.deepEqual(
      (await fresh.history()).messages.map((m) => m.message),
      last10(),
    );
  });

  it('every accepted message and the deletion are in the Postgres outbox, keyed by stream', async () => {
    const rows = await a.nova.container.db.kysely.selectFrom('outbox').select(['topic', 'event_type']).where('event_key', '=', streamId).orderBy('seq').execute();
    assert.equal(rows.filter((r) => r.event_type === 'chat.message').length, visible.length + 1);
    assert.equal(rows.filter((r) => r.event_type === 'chat.deleted').length, 1);
    assert.ok(rows.every((r) => r.topic === 'streams.chat'));
  });
});
