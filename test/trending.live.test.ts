// Live streams on Discover rank by what happens now: current viewers plus recent chat activity.
// Streams are created through the API; their live state, viewer counts and chat history are
// written straight to the tables (an RTMP push per stream would only add minutes here).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { liveScore } from '../src/trending/trending.live.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

interface LiveItems {
  items: Array<{ id: string; title: string; viewer_count: number; chat_messages_per_minute: number; score: number }>;
}

describe('trending live streams', () => {
  let t: TestNova;
  before(async () => {
    t = await startTestNova();
  });
  after(async () => t.stop());

  it('scores viewers plus weighted chat rate', () => {
    assert.equal(liveScore(10, 0), 10);
    assert.ok(liveScore(2, 10) > liveScore(20, 0));
  });

  it('ranks live streams by viewers and chat rate, leaving out idle and ended ones', async () => {
    const { client, user } = await t.client.newUser('streamer');
    const make = async (title: string) => (await client.post<{ stream: { id: string } }>('/api/v1/streams', { title })).body.stream.id;
    const quietBig = await make('many viewers, no chat');
    const chatty = await make('few viewers, busy chat');
    const idle = await make('not live');
    const ended = await make('ended');
    const db = t.nova.container.db.kysely;
    const startedAt = new Date(Date.now() - 10 * 60_000).toISOString();
    await db.updateTable('streams').set({ status: 'live', started_at: startedAt, viewer_count: 12 }).where('id', '=', quietBig).execute();
    await db.updateTable('streams').set({ status: 'live', started_at: startedAt, viewer_count: 3 }).where('id', '=', chatty).execute();
    await db.updateTable('streams').set({ status: 'ended', started_at: startedAt, viewer_count: 0 }).where('id', '=', ended).execute();
    // 30 messages in the last 5 minutes (6/min → 18 points) and 20 older ones that no longer count.
    const msg = (minutesAgo: number, hidden = false) => ({
      comment_id: uuidv7(),
      stream_id: chatty,
      user_id: user.id,
      username: user.username,
      message: 'hi',
      created_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      hidden_at: hidden ? new Date().toISOString() : null,
      hidden_by: null,
    });
    await db
      .insertInto('chat_messages')
      .values([...Array.from({ length: 30 }, (_, i) => msg(i / 10)), ...Array.from({ length: 20 }, () => msg(8)), msg(1, true)])
      .execute();
    const res = await t.client.get<LiveItems>('/api/v1/discover/trending/live?limit=10');
    assert.equal(res.status, 200);
    const ids = res.body.items.map((i) => i.id);
    assert.deepEqual(ids, [chatty, quietBig]);
    assert.ok(!ids.includes(idle) && !ids.includes(ended));
    const top = res.body.items[0];
    assert.equal(top.viewer_count, 3);
    assert.equal(top.chat_messages_per_minute, 6);
    assert.equal(top.score, 3 + 3 * 6);
    assert.equal((await t.client.get('/api/v1/discover/trending/live?limit=0')).status, 400);
  });
});
