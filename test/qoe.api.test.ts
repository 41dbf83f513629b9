// Playback quality over real HTTP on SQLite and Postgres: batches from anonymous and signed-in
// players become sessions and aggregates (startup percentiles, rebuffering, renditions, errors);
// live streams are measured like videos, per stream; only owners and admins read them; malformed or oversized batches are refused whole; new sessions
// per address are bounded; old telemetry is pruned.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NovaClient } from '../src/client/nova-client.js';
import { createStream } from '../src/client/live.client.js';
import { qoe, type EventBatch } from '../src/client/qoe.client.js';
import type { QoeCapability } from '../src/qoe/qoe.routes.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

const sid = () => randomUUID();

/** A 60 s playback: startup, 480p then 720p, one 3 s stall, heartbeats, end. */
function playback(videoId: string, startupMs: number): EventBatch {
  return {
    session_id: sid(),
    video_id: videoId,
    events: [
      { type: 'level_switch', at_ms: 100, height: 480, bitrate: 1_000_000 },
      { type: 'startup', at_ms: startupMs, ms: startupMs },
      { type: 'heartbeat', at_ms: startupMs + 10_000, position: 10, height: 480 },
      { type: 'level_switch', at_ms: startupMs + 20_000, height: 720, bitrate: 3_000_000 },
      { type: 'rebuffer_start', at_ms: startupMs + 30_000 },
      { type: 'rebuffer_end', at_ms: startupMs + 33_000 },
      { type: 'heartbeat', at_ms: startupMs + 43_000, position: 40, height: 720 },
      { type: 'end', at_ms: startupMs + 63_000 },
    ],
  };
}

for (const backend of TEST_BACKENDS) {
  describe(`playback quality API (${backend})`, () => {
    let t: TestNova;
    let admin: NovaClient;
    let owner: NovaClient;
    let other: NovaClient;
    let videoId: string;
    let skip: string | false = false;

    before(async () => {
      const started = await startTestNovaOn(backend, { QOE_SESSIONS_PER_MINUTE: '12' });
      if (typeof started === 'string') {
        skip = started;
        return;
      }
      t = started;
      admin = (await t.client.newUser('admin')).client;
      const o = await t.client.newUser('owner');
      owner = o.client;
      other = (await t.client.newUser('other')).client;
      videoId = await insertReadyVideo(t, o.user.id, 'measured');
    });
    after(async () => t?.stop());

    it('turns batches into sessions and aggregates', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = t.client.as(null);
      // Five playbacks, startup 200…1000 ms; one sends its events in two batches.
      for (const [i, ms] of [200, 400, 600, 800, 1000].entries()) {
        const b = playback(videoId, ms);
        if (i === 0) {
          assert.equal((await qoe.report(anon, { ...b, events: b.events.slice(0, 4) })).status, 204);
          assert.equal((await qoe.report(anon, { ...b, events: b.events.slice(4) })).status, 204);
        } else {
          assert.equal((await qoe.report(i % 2 ? other : anon, b)).status, 204);
        }
      }
      // A sixth session fails fatally at once.
      assert.equal(
        (
          await qoe.report(anon, {
            session_id: sid(),
            video_id: videoId,
            events: [
              { type: 'error', at_ms: 50, fatal: true, kind: 'networkError' },
              { type: 'end', at_ms: 60 },
            ],
          })
        ).status,
        204,
      );

      const r = await qoe.video(owner, videoId, '1h');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const q = r.body;
      assert.equal(q.sessions, 6);
      // Bins are ~9 % wide: the percentiles land within half a bin of the exact values.
      assert.ok(Math.abs(q.startup_ms.p50! - 600) / 600 < 0.05, `p50 ${q.startup_ms.p50}`);
      assert.ok(q.startup_ms.p95! > 800 && q.startup_ms.p95! <= 1050, `p95 ${q.startup_ms.p95}`);
      // Per playback: 60 s viewing (20 s at 480p, 40 s at 720p) and 3 s stalled.
      assert.ok(Math.abs(q.viewing_seconds - 5 * 60) < 1e-6, `viewing ${q.viewing_seconds}`);
      assert.ok(Math.abs(q.rebuffer_ratio - 3 / 63) < 1e-6, `ratio ${q.rebuffer_ratio}`);
      assert.ok(Math.abs(q.rebuffers_per_hour - 5 / (300 / 3600)) < 1e-3, `per hour ${q.rebuffers_per_hour}`);
      assert.ok(Math.abs(q.error_sessions_ratio - 1 / 6) < 1e-6);
      assert.equal(q.level_switches, 5);
      assert.deepEqual(
        q.renditions.map((x) => x.height),
        [720, 480],
      );
      assert.ok(Math.abs(q.renditions[0]!.share_of_time - 40 / 60) < 1e-3, JSON.stringify(q.renditions));
      assert.ok(Math.abs(q.avg_bitrate_kbps! - (20 * 1000 + 40 * 3000) / 60) < 0.1, `bitrate ${q.avg_bitrate_kbps}`);
      assert.equal(q.hours!.at(-1)!.sessions, 6);

      const all = await qoe.instance(admin, '7d');
      assert.equal(all.status, 200);
      assert.equal(all.body.sessions, 6);
      assert.equal(all.body.days!.length, 1);
      assert.equal(all.body.days![0]!.sessions, 6);
    });

    it("only the owner or an admin reads a video's aggregates; only admins the instance's", async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.equal((await qoe.video(admin, videoId)).status, 200);
      assert.equal((await qoe.video(other, videoId)).status, 403);
      assert.equal((await qoe.video(t.client.as(null), videoId)).status, 401);
      assert.equal((await qoe.video(owner, randomUUID())).status, 404);
      assert.equal((await qoe.instance(owner)).status, 403);
      assert.equal((await qoe.video(owner, videoId, '2w')).status, 400);
    });

    it('refuses malformed, oversized and misdirected batches whole', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = t.client.as(null);
      const before = (await qoe.video(owner, videoId, '1h')).body.sessions;
      const good = { type: 'startup', at_ms: 10, ms: 10 };
      const bad: Array<[string, unknown, number]> = [
        ['an unknown event type', { session_id: sid(), video_id: videoId, events: [good, { type: 'teleport', at_ms: 1 }] }, 400],
        ['a negative time', { session_id: sid(), video_id: videoId, events: [good, { type: 'end', at_ms: -1 }] }, 400],
        ['a missing field', { session_id: sid(), video_id: videoId, events: [good, { type: 'level_switch', at_ms: 1, height: 720 }] }, 400],
        ['no target', { session_id: sid(), events: [good] }, 400],
        ['two targets', { session_id: sid(), video_id: videoId, stream_id: randomUUID(), events: [good] }, 400],
        ['too many events', { session_id: sid(), video_id: videoId, events: Array.from({ length: 101 }, (_, i) => ({ type: 'heartbeat', at_ms: i, position: i })) }, 400],
        ['an unknown video', { session_id: sid(), video_id: randomUUID(), events: [good] }, 404],
        ['a body over 64 KiB', { session_id: sid(), video_id: videoId, events: [{ type: 'error', at_ms: 1, fatal: false, kind: 'x'.repeat(70_000) }] }, 413],
      ];
      for (const [what, body, status] of bad) {
        const res = await qoe.report(anon, body as EventBatch);
        assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, what);
        assert.ok(typeof (res.body as { detail?: string }).detail === 'string', what);
      }
      assert.equal((await qoe.report(anon, '{"session_id": "abcdefgh", "events": [')).status, 400);
      // A session stays on its video, and its clock cannot run ahead of the server's.
      const s = playback(videoId, 300);
      assert.equal((await qoe.report(anon, { ...s, events: s.events.slice(0, 2) })).status, 204);
      const other = await insertReadyVideo(t, (await owner.get<{ id: string }>('/api/v1/me')).body.id, 'second');
      assert.equal((await qoe.report(anon, { ...s, video_id: other, events: s.events.slice(2, 3) })).status, 409);
      assert.equal((await qoe.report(anon, { ...s, events: [{ type: 'heartbeat', at_ms: 3_600_000, position: 1 }] })).status, 400);
      assert.equal((await qoe.video(owner, videoId, '1h')).body.sessions, before + 1, 'only the valid batch made a session');
    });

    it('measures live playback per stream, and refuses batches for unknown streams', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = t.client.as(null);
      const created = await createStream(owner, 'measured live');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const streamId = created.body.stream.id;
      // Three viewers of the live stream: the playback above, aimed at the stream, with startups of 500, 1000 and 1500 ms.
      for (const [i, ms] of [500, 1000, 1500].entries()) {
        const { video_id: _, ...b } = playback(videoId, ms);
        assert.equal((await qoe.report(i % 2 ? other : anon, { ...b, stream_id: streamId })).status, 204);
      }
      const r = await qoe.stream(owner, streamId, '1h');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const q = r.body;
      assert.equal(q.sessions, 3);
      assert.ok(Math.abs(q.startup_ms.p50! - 1000) / 1000 < 0.05, `p50 ${q.startup_ms.p50}`);
      assert.ok(q.startup_ms.p95! >= q.startup_ms.p50! && q.startup_ms.p95! <= 1575, `p95 ${q.startup_ms.p95}`);
      assert.ok(Math.abs(q.viewing_seconds - 3 * 60) < 1e-6, `viewing ${q.viewing_seconds}`);
      assert.ok(Math.abs(q.rebuffer_ratio - 3 / 63) < 1e-6, `ratio ${q.rebuffer_ratio}`);
      assert.equal(q.error_sessions_ratio, 0);
      assert.deepEqual(
        q.renditions.map((x) => x.height),
        [720, 480],
      );
      assert.equal(q.hours!.at(-1)!.sessions, 3);
      // The stream's sessions are its own: the video's aggregate did not move.
      assert.equal((await qoe.video(owner, videoId, '1h')).body.sessions, 7);
      // Who may read a stream's quality.
      assert.equal((await qoe.stream(admin, streamId)).status, 200);
      assert.equal((await qoe.stream(other, streamId)).status, 403);
      assert.equal((await qoe.stream(anon, streamId)).status, 401);
      assert.equal((await qoe.stream(owner, randomUUID())).status, 404);
      // A batch for a stream that does not exist, or with a stream id that is not one, is refused and stores nothing.
      const bad: Array<[string, unknown, number, RegExp]> = [
        ['an unknown stream', { session_id: sid(), stream_id: randomUUID(), events: [{ type: 'startup', at_ms: 10, ms: 10 }] }, 404, /No stream/],
        ['a malformed stream id', { session_id: sid(), stream_id: 'not-a-stream', events: [{ type: 'startup', at_ms: 10, ms: 10 }] }, 400, /stream_id/],
      ];
      for (const [what, body, status, detail] of bad) {
        const res = await qoe.report(anon, body as EventBatch);
        assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, what);
        assert.match(JSON.stringify(res.body), detail, what);
      }
      // A session begun on a video cannot continue on a stream.
      const s = playback(videoId, 300);
      assert.equal((await qoe.report(anon, { ...s, events: s.events.slice(0, 2) })).status, 204);
      const { video_id: _v, ...moved } = s;
      assert.equal((await qoe.report(anon, { ...moved, stream_id: streamId, events: s.events.slice(2, 3) })).status, 409);
      assert.equal((await qoe.stream(owner, streamId, '1h')).body.sessions, 3);
    });

    it('bounds new sessions per address, and prunes telemetry past the retention', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const anon = t.client.as(null);
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) statuses.push((await qoe.report(anon, { session_id: sid(), video_id: videoId, events: [{ type: 'startup', at_ms: 5, ms: 5 }] })).status);
      assert.ok(statuses.includes(429), statuses.join(','));
      const limited = await qoe.report(anon, { session_id: sid(), video_id: videoId, events: [{ type: 'startup', at_ms: 5, ms: 5 }] });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);

      const service = (t.nova.capabilities.find((c) => c.name === 'qoe') as QoeCapability).service;
      assert.equal(await service.prune(Date.now()), 0, 'nothing is older than 30 days');
      assert.ok((await service.prune(Date.now() + 31 * 86_400_000)) > 0);
      assert.equal((await qoe.video(owner, videoId, '7d')).body.sessions, 0);
      const rows = await t.nova.container.db.kysely
        .selectFrom('qoe_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(rows.n), 0);
    });
  });
}
