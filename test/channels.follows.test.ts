// Channels and follows over real HTTP on SQLite and Postgres: a channel's counts, idempotent
// follow/unfollow with their events on users.events, whom I follow, the following feed, bad
// input; and follows as a feature of the ranked feed: with the shipped model, a followed creator's
// new video ranks above an otherwise equal one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { follow, getChannel, getFollowingFeed, listFollowing, unfollow } from '../src/client/channels.client.js';
import { getFeed } from '../src/client/feed.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { updateVideo } from '../src/client/videos.client.js';
import { TOPIC_OF } from '../src/events/events.types.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

for (const backend of TEST_BACKENDS) {
  describe(`channels and follows (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    let modelsDir: string;
    let viewer: NovaClient;
    let viewerId: string;
    let creatorA: { id: string; username: string };
    let creatorB: { id: string; username: string };
    let owner: NovaClient;
    const ids: Record<string, string> = {};

    before(async () => {
      modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
      fs.cpSync(path.resolve('models/feed-ranker'), path.join(modelsDir, 'feed-ranker'), { recursive: true });
      const started = await startTestNovaOn(backend, { MODELS_DIR: modelsDir });
      if (typeof started === 'string') return void (skip = started);
      t = started;
      await t.client.newUser('admin');
      const v = await t.client.newUser('viewer');
      viewer = v.client;
      viewerId = v.user.id;
      const a = await t.client.newUser('creator_a');
      owner = a.client;
      creatorA = a.user;
      creatorB = (await t.client.newUser('creator_b')).user;
      // Ids are time-ordered: the older video is made first.
      ids.aOld = await insertReadyVideo(t, creatorA.id, 'a older', 5);
      // Equal in everything but the creator.
      ids.a = await insertReadyVideo(t, creatorA.id, 'a new', 1);
      ids.b = await insertReadyVideo(t, creatorB.id, 'b new', 1);
    });
    after(async () => {
      await t?.stop();
      if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
    });

    it("ranks a followed creator's video above an otherwise equal one", async (ctx) => {
      if (skip) return ctx.skip(skip);
      const before = await getFeed(viewer, 20);
      assert.equal(before.body.ranking, 'model');
      const score = (items: typeof before.body.items, id: string) => items.find((i) => i.id === id)!.score;
      // Not following anyone: the two score the same.
      assert.equal(score(before.body.items, ids.a), score(before.body.items, ids.b));
      assert.equal((await follow(viewer, creatorA.username)).status, 204);
      const after = await getFeed(viewer, 20);
      const order = after.body.items.map((i) => i.id);
      assert.ok(order.indexOf(ids.a) < order.indexOf(ids.b), after.body.items.map((i) => `${i.title}=${i.score}`).join(', '));
      assert.ok(score(after.body.items, ids.a) > score(after.body.items, ids.b));
    });

    it('follows idempotently, with one event per change on users.events', async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.equal((await follow(viewer, creatorA.username)).status, 204, 'again: still 204');
      assert.equal((await follow(viewer, creatorB.username.toUpperCase())).status, 204, 'usernames are case-insensitive');
      let ch = await getChannel(viewer, creatorA.username);
      assert.equal(ch.status, 200);
      assert.equal(ch.body.id, creatorA.id);
      assert.equal(ch.body.username, creatorA.username);
      assert.equal(ch.body.follower_count, 1);
      assert.equal(ch.body.video_count, 2);
      assert.equal(ch.body.following, true);
      assert.equal(ch.body.live_stream, null);
      assert.equal((await getChannel(t.client.as(null), creatorA.username)).body.following, null);
      const following = await listFollowing(viewer, { limit: 1 });
      assert.equal(following.body.items.length, 1);
      assert.equal(following.body.items[0].username, creatorB.username, 'most recent first');
      const rest = await listFollowing(viewer, { limit: 1, cursor: following.body.next_cursor! });
      assert.deepEqual(
        rest.body.items.map((i) => i.username),
        [creatorA.username],
      );
      assert.equal(rest.body.next_cursor, null);

      assert.equal((await unfollow(viewer, creatorB.username)).status, 204);
      assert.equal((await unfollow(viewer, creatorB.username)).status, 204, 'again: still 204');
      ch = await getChannel(viewer, creatorB.username);
      assert.equal(ch.body.follower_count, 0);
      assert.equal(ch.body.following, false);

      const events = await t.nova.container.db.kysely
        .selectFrom('outbox')
        .select(['event_type', 'topic', 'event_key', 'payload'])
        .where('event_type', 'in', ['user.followed', 'user.unfollowed'])
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => `${e.event_type}:${e.event_key === creatorA.id ? 'a' : 'b'}`),
        ['user.followed:a', 'user.followed:b', 'user.unfollowed:b'],
      );
      assert.ok(events.every((e) => e.topic === 'users.events'));
      assert.equal(TOPIC_OF['user.followed'], 'users.events');
      assert.deepEqual(
        { ...JSON.parse(events[0].payload), event_id: undefined, occurred_at: undefined, timestamp: undefined },
        {
          follower_id: viewerId,
          followee_id: creatorA.id,
          event_type: 'user.followed',
          schema_version: 1,
          event_id: undefined,
          occurred_at: undefined,
          timestamp: undefined,
        },
      );
    });

    it("lists followed creators' newest public videos in the following feed", async (ctx) => {
      if (skip) return ctx.skip(skip);
      const feed = await getFollowingFeed(viewer, { limit: 1 });
      assert.equal(feed.status, 200);
      assert.deepEqual(
        feed.body.items.map((v) => v.id),
        [ids.a],
      );
      assert.equal(feed.body.items[0].owner_username, creatorA.username);
      assert.deepEqual(feed.body.live, []);
      const next = await getFollowingFeed(viewer, { limit: 1, cursor: feed.body.next_cursor! });
      assert.deepEqual(
        next.body.items.map((v) => v.id),
        [ids.aOld],
      );
      assert.equal(next.body.next_cursor, null);
      // Not b's video (unfollowed), and never an unlisted one.
      assert.equal((await updateVideo(owner, ids.aOld, { visibility: 'unlisted' })).status, 200);
      assert.deepEqual(
        (await getFollowingFeed(viewer, { limit: 10 })).body.items.map((v) => v.id),
        [ids.a],
      );
      assert.equal((await getChannel(viewer, creatorA.username)).body.video_count, 1);
    });

    it('refuses bad input with problems', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = t.client.as(null);
      assert.equal((await follow(anon, creatorA.username)).status, 401);
      assert.equal((await listFollowing(anon)).status, 401);
      assert.equal((await getFollowingFeed(anon)).status, 401);
      const self = await follow(viewer, (await viewer.get<{ username: string }>('/api/v1/me')).body.username);
      assert.equal(self.status, 400);
      assert.match((self.body as Problem).detail, /yourself/);
      assert.equal((await follow(viewer, 'nobody_here')).status, 404);
      assert.equal((await getChannel(viewer, 'nobody_here')).status, 404);
      assert.equal((await getChannel(viewer, 'bad name!')).status, 400);
      assert.equal((await listFollowing(viewer, { limit: 0 })).status, 400);
      assert.equal((await listFollowing(viewer, { limit: 101 })).status, 400);
      assert.equal((await listFollowing(viewer, { cursor: 'garbage' })).status, 400);
      assert.equal((await getFollowingFeed(viewer, { cursor: 'garbage' })).status, 400);
    });
  });
}
