// Reusable streams over real RTMP, ffmpeg and WebSocket chat: one key broadcast twice (with a
// reconnect inside the window in the first), a broadcast per go-live with its events and
// recording, chat replay beside the recording, clips of the recording, and DELETE for good.
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ChatSocket, banFromChat, deleteChatMessage } from '../src/client/chat.client.js';
import { chatReplay, clipStream, clipVideo } from '../src/client/clips.client.js';
import { createStream, deleteStream, endStream, fetchPlaylist, getStream, listBroadcasts, rotateStreamKey, startEncoder, type Encoder } from '../src/client/live.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { parseLiveSegments } from '../src/media/live.args.js';
import { playsInFfprobe } from './helpers/hls-play.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { currentFfmpegSkipReason } from './helpers/media.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 30_000, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

async function outboxEvents(t: TestNova, streamId: string): Promise<Array<{ event_type: string; payload: Record<string, unknown> }>> {
  const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['event_type', 'payload']).where('event_key', '=', streamId).orderBy('seq').execute();
  return rows.map((r) => ({ event_type: r.event_type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}

async function refusedPublish(rtmpUrl: string, key: string): Promise<string> {
  const enc = startEncoder(rtmpUrl, key, { seconds: 5 });
  assert.notEqual(await enc.exited, 0, 'the encoder must fail');
  return enc.stderr();
}

for (const backend of TEST_BACKENDS)
  describe(`reusable streams (${backend}): two broadcasts with one key, recordings, chat replay, clips, delete`, { skip: currentFfmpegSkipReason() }, () => {
    let t: TestNova;
    let skip: string | false = false;
    let creator: NovaClient;
    let viewer: NovaClient;
    let troll: NovaClient;
    let trollId: string;
    const encoders: Encoder[] = [];
    const sockets: ChatSocket[] = [];

    before(async () => {
      const started = await startTestNovaOn(backend, { LIVE_RECONNECT_WINDOW_SECONDS: '4', LIVE_SEGMENT_SECONDS: '1', CHAT_PING_INTERVAL_SECONDS: '1' });
      if (typeof started === 'string') {
        skip = started;
        return;
      }
      t = started;
      await t.client.newUser('admin');
      creator = (await t.client.newUser('streamer')).client;
      viewer = (await t.client.newUser('viewer')).client;
      const tr = await t.client.newUser('troll');
      troll = tr.client;
      trollId = tr.user.id;
    });
    after(async () => {
      await Promise.all(sockets.map((s) => s.close().catch(() => {})));
      await Promise.all(encoders.map((e) => e.stop()));
      await t?.stop();
    });

    const encode = (rtmp: string, key: string, seconds: number) => {
      const e = startEncoder(rtmp, key, { seconds });
      encoders.push(e);
      return e;
    };
    const status = async (id: string) => (await getStream(creator, id)).body.status;

    it('broadcasts twice with one key; each broadcast has its events and recording; chat replays with the recording; DELETE ends it for good', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const created = await createStream(creator, 'Weekly show', { reusable: true });
      assert.equal(created.status, 201);
      const { stream, stream_key: key, rtmp_url: rtmp, playback_url: playback } = created.body;
      assert.equal(stream.reusable, true);
      assert.equal(stream.status, 'idle');

      // Broadcast 1, first session, with chat.
      const spawnA = Date.now();
      const a = encode(rtmp, key, 60);
      await waitFor('live', async () => (await status(stream.id)) === 'live');
      assert.equal((await getStream(creator, stream.id)).body.encoder_connected, true, 'live with its encoder publishing');
      const chatViewer = await ChatSocket.open(t.url, stream.id, { token: viewer.token });
      const chatTroll = await ChatSocket.open(t.url, stream.id, { token: troll.token });
      sockets.push(chatViewer, chatTroll);
      await Promise.all([chatViewer.history(), chatTroll.history()]);
      await sleep(Math.max(0, spawnA + 6000 - Date.now()));
      const sentFirst = Date.now();
      chatViewer.send('first!');
      await chatViewer.message((m) => m.message === 'first!');
      chatTroll.send('spam spam');
      const spam = await chatViewer.message((m) => m.message === 'spam spam');
      chatViewer.send('oops, wrong chat');
      const oops = await chatViewer.message((m) => m.message === 'oops, wrong chat');
      assert.equal((await deleteChatMessage(creator, stream.id, oops.comment_id)).status, 204);
      assert.equal((await banFromChat(creator, stream.id, trollId)).status < 300, true);
      assert.ok(spam.comment_id);

      // The encoder drops at ~12 s and comes back inside the reconnect window: the same broadcast.
      await sleep(Math.max(0, sentFirst + 6000 - Date.now()));
      const killedA = Date.now();
      await a.stop();
      await waitFor('the publisher slot to be released', async () => {
        const row = await t.nova.container.db.kysely.selectFrom('streams').select('publisher_id').where('id', '=', stream.id).executeTakeFirstOrThrow();
        return row.publisher_id === null;
      });
      const away = (await getStream(creator, stream.id)).body;
      assert.equal(away.status, 'live', 'still live inside the reconnect window');
      // Players learn of the drop from the status at once, before their buffer runs dry.
      assert.equal(away.encoder_connected, false, 'the encoder is away');
      const secondsB = 7;
      const b = encode(rtmp, key, secondsB);
      await waitFor('the resumed session', async () => {
        const n = await t.nova.container.db.kysely.selectFrom('stream_sessions').select('id').where('stream_id', '=', stream.id).where('media_started_at', 'is not', null).execute();
        return n.length === 2;
      });
      assert.equal((await getStream(creator, stream.id)).body.encoder_connected, true, 'the encoder is back');
      await sleep(3000);
      chatViewer.send('second session');
      await chatViewer.message((m) => m.message === 'second session');
      assert.equal(await b.exited, 0);

      // Past the window: the broadcast ends and the stream is idle again, its chat still open.
      await waitFor('idle after the first broadcast', async () => (await status(stream.id)) === 'idle');
      assert.equal('encoder_connected' in (await getStream(creator, stream.id)).body, false, 'only a live stream says whether its encoder is there');
      const first = (await listBroadcasts(creator, stream.id)).body.items;
      assert.equal(first.length, 1);
      assert.ok(first[0].ended_at);
      assert.ok((first[0].duration_seconds ?? 0) >= 10, `first broadcast lasted ${first[0].duration_seconds}s`);

      // Broadcast 1's peak: the two chat sockets opened while it was live.
      assert.equal(first[0].peak_viewer_count, 2, 'the viewer and the troll watched the first broadcast');
      // Those sockets belong to the first broadcast; the second counts its own viewers.
      await Promise.all([chatViewer.close(), chatTroll.close()]);

      // Broadcast 2 with the same key, DVR off: clipped from its recording's kept segments while live.
      const c = encode(rtmp, key, 90);
      await waitFor('live again with the same key', async () => (await status(stream.id)) === 'live');
      const hlsPrefix = `live/${stream.id}/hls/`;
      const spanOf = async (name: string) => {
        const keys = (await t.nova.container.storage.list(hlsPrefix)).filter((k) => k.endsWith(`/${name}`));
        if (keys.length === 0) return 0;
        const text = (await t.nova.container.storage.getBuffer(keys[0])).toString('utf8');
        return parseLiveSegments(text).reduce((sum, s) => sum + s.duration, 0);
      };
      await waitFor('14 s of the second broadcast kept for its recording', async () => (await spanOf('history.m3u8')) >= 14, 90_000, 500);
      const windowSpan = await spanOf('index.m3u8');
      assert.ok(windowSpan < 12, `the live window (${windowSpan}s) is shorter than the clip reaches back, so the clip comes from the recording`);
      const asked = Date.now();
      const live2 = await clipStream(creator, stream.id, { seconds_back: 12, duration_seconds: 5, title: 'from the recording' });
      const clipMs = Date.now() - asked;
      ctx.diagnostic(`stream clip from the recording (DVR off): ready ${clipMs} ms after the request (load ${os.loadavg()[0].toFixed(1)})`);
      assert.equal(live2.status, 201, JSON.stringify(live2.body));
      assert.equal(live2.body.video.status, 'ready');
      const liveLength = live2.body.video.duration_seconds ?? 0;
      assert.ok(Math.abs(liveLength - 5) <= 2, `clip lasts ${liveLength}s`);
      assert.ok(Math.abs((await playsInFfprobe(live2.body.video.manifest_url!)) - liveLength) <= 1, 'the clip plays for its length');

      // Three players join the second broadcast (a master fetch, then media polls carry the viewer id).
      const players = ['player-one', 'player-two', 'player-three'];
      await waitFor(
        'three viewers counted',
        async () => {
          const polls = await Promise.all(players.map((v) => fetchPlaylist(creator.as(null), `${playback}?viewer=${v}`)));
          assert.deepEqual(
            polls.map((p) => p.status),
            [200, 200, 200],
            polls.map((p) => p.text).join('\n'),
          );
          return (await getStream(creator, stream.id)).body.peak_viewer_count >= 3;
        },
        60_000,
        500,
      );
      assert.equal((await listBroadcasts(creator, stream.id)).body.items[0].peak_viewer_count, 3, 'the live broadcast shows its own peak');

      // POST …/end through the API: the broadcast ends now and the stream is idle at once.
      const ended = await endStream(creator, stream.id);
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      assert.equal(ended.body.status, 'idle');
      assert.equal(await status(stream.id), 'idle');
      await c.exited;

      const broadcasts = (await listBroadcasts(creator, stream.id)).body.items;
      assert.equal(broadcasts.length, 2);
      const [b2, b1] = broadcasts;
      assert.notEqual(b1.id, b2.id);
      assert.equal(b1.id, first[0].id);
      assert.ok(b2.ended_at, 'POST …/end closed the second broadcast');
      assert.equal(b2.peak_viewer_count, 3, 'the second broadcast has its own peak');
      assert.equal(b1.peak_viewer_count, 2);
      const events = await outboxEvents(t, stream.id);
      const lifecycle = events.filter((e) => e.event_type.startsWith('stream.'));
      assert.deepEqual(
        lifecycle.map((e) => [e.event_type, e.payload.broadcast_id]),
        [
          ['stream.started', b1.id],
          ['stream.ended', b1.id],
          ['stream.started', b2.id],
          ['stream.ended', b2.id],
        ],
      );

      // Two recordings, each a normal video that becomes ready.
      const recorded = await waitFor(
        'both recordings handed over',
        async () => {
          const items = (await listBroadcasts(creator, stream.id)).body.items;
          return items.every((x) => x.recording_video_id) ? items : null;
        },
        60_000,
      );
      const [rec2, rec1] = recorded.map((x) => x.recording_video_id!);
      assert.notEqual(rec1, rec2);
      for (const id of [rec1, rec2]) {
        await waitFor(
          `recording ${id} ready`,
          async () => {
            const v = await creator.get<{ status: string }>(`/api/v1/videos/${id}`);
            assert.notEqual(v.body.status, 'failed');
            return v.body.status === 'ready';
          },
          180_000,
          1000,
        );
      }
      assert.equal((await getStream(creator, stream.id)).body.recording_video_id, rec2, 'the stream shows its latest recording');

      // Chat replay of the first recording: without the deleted message and the banned user's.
      const replay = await chatReplay(viewer.as(null), rec1);
      assert.equal(replay.status, 200);
      assert.deepEqual(
        replay.body.items.map((m) => m.message),
        ['first!', 'second session'],
      );
      const firstMsg = replay.body.items[0];
      // Reckoned from the recording's end: the second part holds the second encoder's secondsB of
      // media, and the first part ends when the first encoder was killed.
      const recorded1 = (await creator.get<{ duration_seconds: number }>(`/api/v1/videos/${rec1}`)).body.duration_seconds;
      const expected = recorded1 - secondsB - (killedA - sentFirst) / 1000;
      assert.ok(Math.abs(firstMsg.offset_seconds - expected) <= 1.5, `offset ${firstMsg.offset_seconds}s, expected ${expected.toFixed(2)}s of a ${recorded1}s recording`);
      assert.ok(replay.body.items[1].offset_seconds > firstMsg.offset_seconds + 5);
      const windowed = await chatReplay(viewer, rec1, { from: firstMsg.offset_seconds + 1 });
      assert.deepEqual(
        windowed.body.items.map((m) => m.message),
        ['second session'],
      );
      assert.deepEqual((await chatReplay(viewer, rec2)).body.items, [], 'the second broadcast had no chat');

      // A 10 s clip of the recording: segments copied, ready at once, plays.
      const rec = (await creator.get<{ duration_seconds: number }>(`/api/v1/videos/${rec1}`)).body;
      assert.ok(rec.duration_seconds >= 12, `recording is ${rec.duration_seconds}s`);
      const askedRec = Date.now();
      const clip = await clipVideo(creator, rec1, { start_seconds: 2, end_seconds: 12, title: 'best bit' });
      ctx.diagnostic(`10 s clip of a recording: ready ${Date.now() - askedRec} ms after the request (load ${os.loadavg()[0].toFixed(1)})`);
      assert.equal(clip.status, 201, JSON.stringify(clip.body));
      assert.equal(clip.body.video.status, 'ready');
      assert.ok(clip.body.start_seconds <= 2 && clip.body.end_seconds >= 12, `cut ${clip.body.start_seconds}-${clip.body.end_seconds}`);
      const segment = 6;
      assert.ok(Math.abs((clip.body.video.duration_seconds ?? 0) - 10) <= segment, `clip lasts ${clip.body.video.duration_seconds}s`);
      const played = await playsInFfprobe(clip.body.video.manifest_url!);
      assert.ok(Math.abs(played - (clip.body.video.duration_seconds ?? 0)) <= 1, `ffprobe says ${played}s`);
      const readyEvents = (await outboxEvents(t, clip.body.video.id)).map((e) => e.event_type);
      assert.deepEqual(readyEvents, ['video.ready']);
      // The clip's chat, in its own time.
      const clipChat = (await chatReplay(viewer, clip.body.video.id)).body.items;
      assert.deepEqual(
        clipChat.map((m) => m.message),
        ['first!'],
      );
      assert.ok(Math.abs(clipChat[0].offset_seconds - (firstMsg.offset_seconds - clip.body.start_seconds)) < 0.01);

      // Bad ranges and the wrong people.
      const bad = async (body: { start_seconds: number; end_seconds: number }, who = creator) => clipVideo(who, rec1, { ...body, title: 'x' });
      assert.equal((await bad({ start_seconds: 5, end_seconds: 5 })).status, 400);
      assert.equal((await bad({ start_seconds: 0, end_seconds: 121 })).status, 400);
      const outside = await bad({ start_seconds: 500, end_seconds: 510 });
      assert.equal(outside.status, 400);
      assert.match((outside.body as unknown as { detail: string }).detail, /after the video/);
      assert.equal((await bad({ start_seconds: 0, end_seconds: 5 }, viewer)).status, 403, 'viewers may not clip unless the creator allows it');
      assert.equal((await bad({ start_seconds: 0, end_seconds: 5 }, creator.as(null))).status, 401);
      const waiting = await creator.post<{ video: { id: string } }>('/api/v1/videos', { title: 'not uploaded' });
      const notReady = await clipVideo(creator, waiting.body.video.id, { start_seconds: 0, end_seconds: 5, title: 'x' });
      assert.equal(notReady.status, 409);
      assert.equal((await chatReplay(creator, waiting.body.video.id)).status, 409, 'no chat for a video that is no recording');

      // POST …/end on an idle reusable stream says how to stop it for good.
      assert.equal((await endStream(creator, stream.id)).status, 409);
      // DELETE: only the creator or an admin; then the key is refused and nothing revives it.
      assert.equal((await deleteStream(viewer, stream.id)).status, 403);
      assert.equal((await deleteStream(creator, stream.id)).status, 204);
      assert.equal(await status(stream.id), 'ended');
      assert.match(await refusedPublish(rtmp, key), /Publish refused/);
      assert.equal((await rotateStreamKey(creator, stream.id)).status, 409);
      assert.equal((await deleteStream(creator, stream.id)).status, 204);
      assert.equal(await status(stream.id), 'ended');
      assert.equal((await listBroadcasts(creator, stream.id)).body.items.length, 2);
    });
  });
