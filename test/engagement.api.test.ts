// Engagement over real HTTP on SQLite and Postgres: views counted once per viewer per 30 minutes
// (also under concurrent requests), likes idempotent, watch time accumulating up to the video's
// duration per user per window (also under a loop or a burst of reports), events written to the
// outbox with the change, and the access and validation rules.
// Ready videos are inserted straight into the videos table: these tests are about engagement,
// and the upload pipeline would only add minutes of transcoding.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { engagementOf, like, recordView, reportWatch, unlike } from '../src/client/engagement.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { seedReadyVideo } from './helpers/videos-db.js';

async function insertVideo(t: TestNova, ownerId: string, status = 'ready', durationSeconds = 120): Promise<string> {
  const id = uuidv7();
  await seedReadyVideo(t.nova.container.db.kysely, { id, owner_id: ownerId, title: `fixture ${id.slice(-6)}`, status: status as 'ready', duration_seconds: durationSeconds });
  return id;
}

async function outboxEvents(t: TestNova, videoId: string, type: string): Promise<Array<Record<string, unknown>>> {
  const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['payload', 'event_key']).where('event_type', '=', type).where('event_key', '=', videoId).orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
}

/** The part of a watch report that counted (`counted_seconds`, which the typed client does not name yet). */
function counted(r: Awaited<ReturnType<typeof reportWatch>>): number {
  return (r.body as { counted_seconds?: number }).counted_seconds ?? Number.NaN;
}

for (const backend of TEST_BACKENDS) {
  describe(`engagement (${backend})`, () => {
    let t: TestNova;
    let owner: { client: NovaClient; user: { id: string } };
    let viewer: { client: NovaClient; user: { id: string } };
    let skip: string | false = false;

    before(async () => {
      const started = await startTestNovaOn(backend, { ANON_VIEWS_PER_MINUTE: '40' });
      if (typeof started === 'string') return void (skip = started);
      t = started;
      owner = await t.client.newUser('owner');
      viewer = await t.client.newUser('viewer');
    });
    after(async () => t?.stop());

    it('counts a view once per viewer per 30 minutes, also when requests race', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      const first = await recordView(viewer.client, video);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, { video_id: video, counted: true, views: 1 });
      const again = await recordView(viewer.client, video);
      assert.deepEqual(again.body, { video_id: video, counted: false, views: 1 });
      // Ten concurrent views from another user: exactly one counts.
      const other = await t.client.newUser('racer');
      const burst = await Promise.all(Array.from({ length: 10 }, () => recordView(other.client, video)));
      assert.ok(burst.every((r) => r.status === 200));
      assert.equal(burst.filter((r) => r.body.counted).length, 1);
      // Anonymous viewers: by their viewer id when they send one, else by address.
      assert.equal((await recordView(t.client.as(null), video, 'anon-client-0001')).body.counted, true);
      assert.equal((await recordView(t.client.as(null), video, 'anon-client-0001')).body.counted, false);
      assert.equal((await recordView(t.client.as(null), video, 'anon-client-0002')).body.counted, true);
      assert.equal((await recordView(t.client.as(null), video)).body.counted, true);
      assert.equal((await recordView(t.client.as(null), video)).body.counted, false);
      assert.equal((await engagementOf(t.client.as(null), video)).body.views, 5);
      // Thirty-one minutes later (the mark is moved back rather than waiting) the viewer counts again.
      await t.nova.container.db.kysely
        .updateTable('video_view_marks')
        .set({ counted_at: new Date(Date.now() - 31 * 60_000).toISOString() })
        .where('video_id', '=', video)
        .where('viewer_key', '=', `u:${viewer.user.id}`)
        .execute();
      const later = await recordView(viewer.client, video);
      assert.deepEqual(later.body, { video_id: video, counted: true, views: 6 });
      // Twenty-nine minutes is not enough.
      await t.nova.container.db.kysely
        .updateTable('video_view_marks')
        .set({ counted_at: new Date(Date.now() - 29 * 60_000).toISOString() })
        .where('video_id', '=', video)
        .where('viewer_key', '=', `u:${viewer.user.id}`)
        .execute();
      assert.equal((await recordView(viewer.client, video)).body.counted, false);
      const events = await outboxEvents(t, video, 'video.viewed');
      assert.equal(events.length, 6, 'one video.viewed event per counted view');
      assert.equal(events[0].viewer_id, viewer.user.id);
      assert.equal(events.filter((e) => e.viewer_id === null).length, 3, 'anonymous viewers are not identified');
      // No raw address is stored.
      const keys = await t.nova.container.db.kysely.selectFrom('video_view_marks').select('viewer_key').where('video_id', '=', video).execute();
      assert.ok(keys.every((k) => !k.viewer_key.includes('127.0.0.1') && !k.viewer_key.includes('anon-client')));
    });

    it('limits anonymous views per address', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      let limited: Awaited<ReturnType<typeof recordView>> | undefined;
      for (let i = 0; i < 60 && !limited; i++) {
        const r = await recordView(t.client.as(null), video, `flood-client-${String(i).padStart(4, '0')}`);
        if (r.status === 429) limited = r;
      }
      assert.ok(limited, 'a flood of minted viewer ids is cut off');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal((await recordView(viewer.client, video)).status, 200, 'signed-in viewers are not affected');
    });

    it('likes are idempotent and emit one event per change', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      assert.deepEqual((await like(viewer.client, video)).body, { video_id: video, liked: true, likes: 1 });
      assert.deepEqual((await like(viewer.client, video)).body, { video_id: video, liked: true, likes: 1 });
      const second = await t.client.newUser('fan');
      assert.equal((await like(second.client, video)).body.likes, 2);
      assert.equal((await engagementOf(viewer.client, video)).body.liked, true);
      assert.deepEqual((await unlike(viewer.client, video)).body, { video_id: video, liked: false, likes: 1 });
      assert.deepEqual((await unlike(viewer.client, video)).body, { video_id: video, liked: false, likes: 1 });
      const summary = await engagementOf(viewer.client, video);
      assert.equal(summary.body.liked, false);
      assert.equal(summary.body.likes, 1);
      const events = await outboxEvents(t, video, 'video.liked');
      assert.deepEqual(
        events.map((e) => [e.user_id, e.liked]),
        [
          [viewer.user.id, true],
          [second.user.id, true],
          [viewer.user.id, false],
        ],
      );
      assert.ok(events.every((e) => typeof e.event_id === 'string' && e.video_id === video));
    });

    it('accumulates watch time per user', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      assert.deepEqual((await reportWatch(viewer.client, video, 12.5)).body, { video_id: video, watched_seconds: 12.5, counted_seconds: 12.5 });
      assert.deepEqual((await reportWatch(viewer.client, video, 30)).body, { video_id: video, watched_seconds: 42.5, counted_seconds: 30 });
      const summary = await engagementOf(viewer.client, video);
      assert.equal(summary.body.watch_seconds, 42.5);
      assert.equal(summary.body.watched_seconds, 42.5);
      const events = await outboxEvents(t, video, 'video.watched');
      assert.deepEqual(
        events.map((e) => [e.user_id, e.seconds]),
        [
          [viewer.user.id, 12.5],
          [viewer.user.id, 30],
        ],
      );
      for (const bad of [0, -5, 7 * 3600]) {
        const r = await reportWatch(viewer.client, video, bad);
        assert.equal(r.status, 400, String(bad));
        assert.ok((r.body as unknown as Problem).errors?.some((e) => e.field === 'seconds'));
      }
    });

    it("caps a user's watch time on a video at its duration per window, however often it is reported", async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id); // 120 s long
      const looper = await t.client.newUser('looper');
      // The allowance refills at 120 s per 30 min while the test runs: a bound, never a wait.
      const started = Date.now();
      const cap = () => 120 + ((Date.now() - started) / 1000) * (120 / 1800) + 0.001;

      const first = await reportWatch(looper.client, video, 100);
      assert.deepEqual(first.body, { video_id: video, watched_seconds: 100, counted_seconds: 100 });
      const second = await reportWatch(looper.client, video, 100);
      assert.equal(second.status, 200);
      assert.ok(counted(second) >= 20 && second.body.watched_seconds <= cap(), JSON.stringify(second.body));
      // A loop of the largest reports allowed is accepted and adds nothing more.
      for (let i = 0; i < 20; i++) {
        const r = await reportWatch(looper.client, video, 6 * 3600);
        assert.equal(r.status, 200);
        assert.ok(r.body.watched_seconds <= cap(), `report ${i}: ${JSON.stringify(r.body)}`);
      }
      const mine = await engagementOf(looper.client, video);
      assert.ok(mine.body.watched_seconds! >= 120 && mine.body.watched_seconds! <= cap(), String(mine.body.watched_seconds));
      assert.equal(mine.body.watch_seconds, mine.body.watched_seconds, 'the video total holds only what counted');
      // Trending sums the events' seconds: they hold only what counted, and a report that counted
      // nothing wrote no event.
      const events = await outboxEvents(t, video, 'video.watched');
      assert.ok(events.length <= 3, `${events.length} events`);
      assert.ok(Math.abs(events.reduce((sum, e) => sum + Number(e.seconds), 0) - mine.body.watched_seconds!) < 0.01);

      // Another user has an allowance of their own.
      const other = await t.client.newUser('other_watcher');
      assert.equal(counted(await reportWatch(other.client, video, 6 * 3600)), 120);

      // Half a window later (the mark is moved back rather than waiting) half the duration counts
      // again; a whole window later, all of it.
      const key = `w:u:${looper.user.id}`;
      const shiftMark = async (minutes: number) => {
        const db = t.nova.container.db.kysely;
        const mark = await db.selectFrom('video_view_marks').select('counted_at').where('video_id', '=', video).where('viewer_key', '=', key).executeTakeFirstOrThrow();
        await db
          .updateTable('video_view_marks')
          .set({ counted_at: new Date(Date.parse(mark.counted_at) - minutes * 60_000).toISOString() })
          .where('video_id', '=', video)
          .where('viewer_key', '=', key)
          .execute();
      };
      await shiftMark(15);
      const half = counted(await reportWatch(looper.client, video, 6 * 3600));
      assert.ok(half >= 60 && half < 61, String(half));
      assert.equal(counted(await reportWatch(looper.client, video, 6 * 3600)), 0);
      await shiftMark(30);
      assert.equal(counted(await reportWatch(looper.client, video, 6 * 3600)), 120);
      assert.equal(counted(await reportWatch(looper.client, video, 6 * 3600)), 0);
    });

    it('a burst of concurrent watch reports from one user spends one allowance', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id); // 120 s long
      const racer = await t.client.newUser('watch_racer');
      const started = Date.now();
      const burst = await Promise.all(Array.from({ length: 12 }, () => reportWatch(racer.client, video, 50)));
      assert.ok(
        burst.every((r) => r.status === 200),
        burst.map((r) => r.status).join(','),
      );
      const total = burst.reduce((sum, r) => sum + counted(r), 0);
      // Each report reads the clock when it arrives, and they commit in any order: one that read
      // an earlier instant than the report before it sees that much less refill. So the burst
      // counts one allowance give or take the refill over its own span (120 s per 1800 s), plus
      // the millisecond rounding of the pacing mark.
      const slack = ((Date.now() - started) / 1000) * (120 / 1800) + 0.001 * burst.length;
      assert.ok(Math.abs(total - 120) <= slack, `counted ${total} (allowed 120 ± ${slack})`);
      const summary = await engagementOf(racer.client, video);
      assert.ok(Math.abs(summary.body.watched_seconds! - total) < 0.01);
      assert.ok(Math.abs(summary.body.watch_seconds - total) < 0.01);
    });

    it('a video shorter than a second still counts its whole length once per window', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id, 'ready', 0.5);
      const viewer = await t.client.newUser('short_watcher');
      assert.equal(counted(await reportWatch(viewer.client, video, 5)), 0.5);
      assert.equal(counted(await reportWatch(viewer.client, video, 5)), 0);
    });

    it('limits how often one user reports watch time for one video', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      const flooder = await t.client.newUser('watch_flooder');
      let limited: Awaited<ReturnType<typeof reportWatch>> | undefined;
      for (let i = 0; i < 40 && !limited; i++) {
        const r = await reportWatch(flooder.client, video, 1);
        if (r.status === 429) limited = r;
      }
      assert.ok(limited, 'a loop of reports is cut off');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal((await reportWatch(viewer.client, video, 1)).status, 200, 'other users are not affected');
    });

    it('checks who may act and on which videos', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const video = await insertVideo(t, owner.user.id);
      const anon = t.client.as(null);
      assert.equal((await like(anon, video)).status, 401);
      assert.equal((await unlike(anon, video)).status, 401);
      assert.equal((await reportWatch(anon, video, 5)).status, 401);
      assert.equal((await like(viewer.client, uuidv7())).status, 404);
      assert.equal((await recordView(viewer.client, uuidv7())).status, 404);
      const bad = await like(viewer.client, 'not-a-uuid');
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const processing = await insertVideo(t, owner.user.id, 'processing');
      const notReady = await like(viewer.client, processing);
      assert.equal(notReady.status, 409);
      assert.match((notReady.body as unknown as Problem).detail, /processing/);
      assert.equal((await recordView(viewer.client, processing)).status, 409);
      assert.equal((await recordView(anon, video, 'bad id!')).status, 400);
    });
  });
}
