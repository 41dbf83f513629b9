// Live streaming over real RTMP, HTTP and ffmpeg: an ffmpeg test pattern publishes like OBS would.
// One server runs the embedded adapters (SQLite, local disk), the other the scaled-out ones
// (Postgres, S3 through s3rver) with the full publish → reconnect → end → recording story.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { createStream, endStream, fetchPlaylist, getStream, listStreams, rotateStreamKey, startEncoder, type Encoder } from '../src/client/live.client.js';
import type { Capability } from '../src/capability.js';
import type { LiveService } from '../src/live/live.service.js';
import { parseMediaPlaylist } from '../src/media/live.args.js';
import { currentFfmpegSkipReason } from './helpers/media.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { startS3, type TestS3 } from './helpers/s3.js';

const liveSkip = currentFfmpegSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 20_000, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** Live transcoders this test process runs (ffmpeg children reading FLV from stdin and writing HLS). */
function liveFfmpegChildren(): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('pipe:0') && cmd.includes('hls')) pids.push(Number(d));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

async function outboxEvents(t: TestNova, streamId: string): Promise<Array<{ event_type: string; payload: Record<string, unknown> }>> {
  const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['event_type', 'payload', 'topic']).where('event_key', '=', streamId).orderBy('seq').execute();
  return rows.map((r) => ({ event_type: r.event_type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}

async function refusedPublish(rtmpUrl: string, key: string): Promise<string> {
  const enc = startEncoder(rtmpUrl, key, { seconds: 5 });
  const code = await enc.exited;
  assert.notEqual(code, 0, 'the encoder must fail');
  return enc.stderr();
}

describe('live streams (SQLite, local storage)', { skip: liveSkip }, () => {
  let t: TestNova;
  let creator: NovaClient;
  let other: NovaClient;
  let admin: NovaClient;
  const hookSecret = 'nginx-hook-secret-0123';

  before(async () => {
    t = await startTestNova({
      LIVE_RECONNECT_WINDOW_SECONDS: '3',
      LIVE_SEGMENT_SECONDS: '1',
      LIVE_HOOK_SECRET: hookSecret,
      LIVE_RECORD: 'false',
      LIVE_MAX_DURATION_SECONDS: '10',
      LIVE_MAX_INGEST_HEIGHT: '480',
    });
    admin = (await t.client.newUser('boss')).client; // the first account is the admin
    creator = (await t.client.newUser('creator')).client;
    other = (await t.client.newUser('other')).client;
  });
  after(async () => t.stop());

  it('creates a stream with a one-time key, reads and lists it, validates input', async () => {
    const res = await createStream(creator, '  My first stream ');
    assert.equal(res.status, 201);
    const { stream, stream_key, rtmp_url, playback_url } = res.body;
    assert.equal(stream.status, 'idle');
    assert.equal(stream.title, 'My first stream');
    assert.match(stream.id, /^[0-9a-f-]{36}$/);
    assert.match(rtmp_url, /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    assert.notEqual(Number(rtmp_url.split(':')[2].split('/')[0]), 0, 'the bound RTMP port, not 0');
    assert.equal(playback_url, `${t.url}/api/v1/streams/${stream.id}/live/master.m3u8`);
    assert.ok(stream_key.length >= 32);
    const stored = await t.nova.container.db.kysely.selectFrom('streams').selectAll().where('id', '=', stream.id).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(stored).includes(stream_key), 'only a hash of the key is stored');

    const got = await getStream(other.as(null), stream.id);
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), [
      'created_at',
      'creator_id',
      'ended_at',
      'id',
      'peak_viewer_count',
      'playback_url',
      'recording_video_id',
      'started_at',
      'status',
      'title',
      'viewer_count',
    ]);
    assert.ok(!JSON.stringify(got.body).includes(stream_key));
    const idle = await listStreams(creator, { status: 'idle', creator: 'me' });
    assert.ok(idle.body.items.some((s) => s.id === stream.id));
    assert.equal((await listStreams(creator, { status: 'live' })).body.items.length, 0);

    assert.equal((await createStream(creator.as(null), 'x')).status, 401);
    const blank = await createStream(creator, '   ');
    assert.equal(blank.status, 400);
    assert.equal((blank.body as unknown as Problem).errors?.[0].field, 'title');
    assert.equal((await creator.post('/api/v1/streams', { title: 'x', extra: 1 })).status, 400);
    assert.equal((await getStream(creator, 'not-a-uuid')).status, 400);
    const missing = await getStream(creator, '01a20b6f-284a-765b-825a-a0288500f683');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const notLive = await fetchPlaylist(creator, playback_url);
    assert.equal(notLive.status, 404);
  });

  it('only the creator rotates the key; creator or admin ends; others get 403', async () => {
    const { stream } = (await createStream(creator, 'auth')).body;
    assert.equal((await rotateStreamKey(other, stream.id)).status, 403);
    assert.equal((await rotateStreamKey(admin, stream.id)).status, 403);
    assert.equal((await rotateStreamKey(creator.as(null), stream.id)).status, 401);
    assert.equal((await endStream(other, stream.id)).status, 403);
    assert.equal((await endStream(creator.as(null), stream.id)).status, 401);
    const ended = await endStream(admin, stream.id);
    assert.equal(ended.status, 200);
    assert.equal(ended.body.status, 'ended');
    assert.equal((await endStream(creator, stream.id)).status, 409);
    assert.equal((await rotateStreamKey(creator, stream.id)).status, 409);
    // Never live: no lifecycle events.
    assert.deepEqual(await outboxEvents(t, stream.id), []);
  });

  it('nginx-rtmp on_publish: shared secret required, known keys only', async () => {
    const { stream, stream_key } = (await createStream(creator, 'edge')).body;
    const hook = (secret: string, name: string) =>
      creator
        .as(null)
        .request<Problem>('POST', `/api/v1/live/hooks/nginx-rtmp/on_publish?secret=${encodeURIComponent(secret)}`, `app=live&name=${encodeURIComponent(name)}&call=publish&addr=10.0.0.9`, {
          'content-type': 'application/x-www-form-urlencoded',
        });
    assert.equal((await hook('wrong-secret-000000000', stream_key)).status, 403);
    const unknown = await hook(hookSecret, 'live_not_a_real_key_000000');
    assert.equal(unknown.status, 403);
    assert.match(unknown.body.detail, /refused/);
    const ok = await hook(hookSecret, stream_key);
    assert.equal(ok.status, 200);
    assert.equal((ok.body as unknown as { stream_id: string }).stream_id, stream.id);
  });

  it('refuses unknown and revoked keys at the handshake; the new key publishes; POST …/end stops it', async () => {
    const created = (await createStream(creator, 'rotate me')).body;
    const { stream, rtmp_url } = created;
    assert.match(await refusedPublish(rtmp_url, 'live_unknown_key_0000000000000'), /Publish refused/);
    const rotated = await rotateStreamKey(creator, stream.id);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.stream_key, created.stream_key);
    assert.match(await refusedPublish(rtmp_url, created.stream_key), /Publish refused/);
    // Refused before any media: nothing became live, no session was opened.
    assert.equal((await getStream(creator, stream.id)).body.status, 'idle');
    assert.equal((await t.nova.container.db.kysely.selectFrom('stream_sessions').select('id').where('stream_id', '=', stream.id).execute()).length, 0);

    const enc = startEncoder(rtmp_url, rotated.body.stream_key, { seconds: 60 });
    try {
      await waitFor('the stream to go live', async () => (await getStream(creator, stream.id)).body.status === 'live', 15_000);
      const master = await waitFor('the live master playlist', async () => {
        const m = await fetchPlaylist(creator, created.playback_url);
        return m.status === 200 ? m : null;
      });
      assert.match(master.text, /360p\/index\.m3u8\?viewer=/);
      assert.equal(master.cacheControl, 'no-cache, no-store');
      assert.equal(liveFfmpegChildren().length, 1, 'one ffmpeg for the stream');

      assert.equal((await endStream(other, stream.id)).status, 403);
      const ended = await endStream(creator, stream.id);
      assert.equal(ended.status, 200);
      assert.equal(ended.body.status, 'ended');
      assert.ok(ended.body.ended_at);
      // The publisher is dropped and its ffmpeg stopped.
      assert.notEqual(await waitFor('the encoder to be disconnected', async () => (await Promise.race([enc.exited, sleep(200).then(() => undefined)])) ?? null, 15_000), undefined);
      await waitFor('no live ffmpeg left', async () => liveFfmpegChildren().length === 0, 15_000);
      const events = await outboxEvents(t, stream.id);
      assert.deepEqual(
        events.map((e) => e.event_type),
        ['stream.started', 'stream.ended'],
      );
      await waitFor('the playlist to be gone', async () => (await fetchPlaylist(creator, created.playback_url)).status === 404, 5000);
      // Ended streams take no publisher, even with the current key.
      assert.match(await refusedPublish(rtmp_url, rotated.body.stream_key), /Publish refused/);
      // Their live objects are removed.
      await waitFor('live HLS objects removed', async () => (await t.nova.container.storage.list(`live/${stream.id}/`)).length === 0, 10_000);
    } finally {
      await enc.stop();
    }
  });
  it('drops a publish above the resolution cap before it goes live', async () => {
    const { stream, stream_key, rtmp_url } = (await createStream(creator, 'too big')).body;
    const enc = startEncoder(rtmp_url, stream_key, { width: 1280, height: 720, seconds: 20 });
    try {
      const code = await waitFor('the encoder to be dropped', async () => (await Promise.race([enc.exited, sleep(200).then(() => undefined)])) ?? null, 15_000);
      assert.notEqual(code, 0);
      const session = await waitFor('the session to be closed', async () =>
        t.nova.container.db.kysely.selectFrom('stream_sessions').selectAll().where('stream_id', '=', stream.id).where('ended_at', 'is not', null).executeTakeFirst(),
      );
      assert.equal(session.end_reason, 'resolution_over_cap');
      assert.equal(session.height, 720);
      assert.equal((await getStream(creator, stream.id)).body.status, 'idle');
      assert.deepEqual(await outboxEvents(t, stream.id), []);
      assert.deepEqual(liveFfmpegChildren(), []);
    } finally {
      await enc.stop();
    }
  });

  it('ends a stream at the maximum duration and drops its publisher', async () => {
    const { stream, stream_key, rtmp_url } = (await createStream(creator, 'marathon')).body;
    const enc = startEncoder(rtmp_url, stream_key, { seconds: 40 });
    try {
      await waitFor('live', async () => (await getStream(creator, stream.id)).body.status === 'live', 15_000);
      const ended = await waitFor(
        'the duration cap',
        async () => {
          const s = (await getStream(creator, stream.id)).body;
          return s.status === 'ended' ? s : null;
        },
        25_000,
      );
      const seconds = (Date.parse(ended.ended_at!) - Date.parse(ended.started_at!)) / 1000;
      assert.ok(seconds >= 10 && seconds < 15, `ended after ${seconds}s`);
      const row = await t.nova.container.db.kysely.selectFrom('streams').select('end_reason').where('id', '=', stream.id).executeTakeFirstOrThrow();
      assert.equal(row.end_reason, 'max_duration');
      assert.notEqual(await waitFor('the encoder to be dropped', async () => (await Promise.race([enc.exited, sleep(200).then(() => undefined)])) ?? null, 15_000), 0);
      await waitFor('no live ffmpeg left', async () => liveFfmpegChildren().length === 0, 15_000);
      assert.deepEqual(
        (await outboxEvents(t, stream.id)).map((e) => e.event_type),
        ['stream.started', 'stream.ended'],
      );
    } finally {
      await enc.stop();
    }
  });
});

describe('live ingest bitrate cap', { skip: liveSkip }, () => {
  it('disconnects an encoder sending above LIVE_MAX_INGEST_KBPS', async () => {
    const t = await startTestNova({ LIVE_MAX_INGEST_KBPS: '150' });
    const { client } = await t.client.newUser('loud');
    const { stream, stream_key, rtmp_url } = (await createStream(client, 'too much')).body;
    const enc = startEncoder(rtmp_url, stream_key, { seconds: 40 });
    try {
      // The rate is judged once 5 s of a 10 s window have passed.
      const code = await waitFor('the encoder to be cut', async () => (await Promise.race([enc.exited, sleep(200).then(() => undefined)])) ?? null, 25_000);
      assert.notEqual(code, 0);
      const session = await waitFor('the session to be closed', async () =>
        t.nova.container.db.kysely.selectFrom('stream_sessions').selectAll().where('stream_id', '=', stream.id).where('ended_at', 'is not', null).executeTakeFirst(),
      );
      assert.equal(session.end_reason, 'bitrate_over_cap');
      await waitFor('no live ffmpeg left', async () => liveFfmpegChildren().length === 0, 10_000);
    } finally {
      await enc.stop();
      await t.stop();
    }
  });
});

describe('live ingest shutdown', { skip: liveSkip }, () => {
  it('stops every live ffmpeg and closes RTMP when Nova stops', async () => {
    // Only this Nova's temp dirs count: other processes on the machine may have their own.
    const liveTempDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('nova-live-'));
    const others = new Set(liveTempDirs());
    const t = await startTestNova();
    let stopped = false;
    const { client } = await t.client.newUser('solo');
    const { stream, stream_key, rtmp_url } = (await createStream(client, 'until shutdown')).body;
    const enc = startEncoder(rtmp_url, stream_key, { seconds: 40 });
    try {
      await waitFor('live', async () => (await getStream(client, stream.id)).body.status === 'live', 15_000);
      assert.equal(liveFfmpegChildren().length, 1);
      await t.stop();
      stopped = true;
      assert.deepEqual(liveFfmpegChildren(), [], 'no live ffmpeg after stop');
      assert.notEqual(await enc.exited, 0, 'the encoder was disconnected');
      assert.deepEqual(
        liveTempDirs().filter((d) => !others.has(d)),
        [],
        'no temp files left',
      );
    } finally {
      await enc.stop();
      if (!stopped) await t.stop();
    }
  });
});

describe('live streams (Postgres, S3): publish, viewers, reconnect, end, recording', async () => {
  const skip = liveSkip || (await postgresSkipReason());
  let t: TestNova;
  let s3: TestS3;
  let db: TestDatabase;
  let creator: NovaClient;

  before(async () => {
    if (skip) return;
    db = await createTestDatabase();
    s3 = await startS3();
    t = await startTestNova({ DATABASE_URL: db.url, ...s3.env, LIVE_RECONNECT_WINDOW_SECONDS: '4' });
    await t.client.newUser('admin');
    creator = (await t.client.newUser('streamer')).client;
  });
  after(async () => {
    if (skip) return;
    await t?.stop();
    await s3?.stop();
    await db?.drop();
  });

  it('goes live with the ladder, counts viewers, survives a reconnect, ends once, records a video', { skip }, async () => {
    const created = (await createStream(creator, 'Reconnecting show')).body;
    const { stream, stream_key, rtmp_url, playback_url } = created;
    let a: Encoder | null = startEncoder(rtmp_url, stream_key, { width: 854, height: 480, seconds: 60 });
    let b: Encoder | null = null;
    try {
      const publishedAt = Date.now();
      const live = await waitFor(
        'live',
        async () => {
          const s = (await getStream(creator, stream.id)).body;
          return s.status === 'live' ? s : null;
        },
        30_000,
      );
      // Logged, not asserted: these machines are shared and noisy.
      console.log(`# publish → live in ${Date.now() - publishedAt} ms`);
      assert.ok(live.started_at);
      assert.ok((await listStreams(creator.as(null), { status: 'live' })).body.items.some((s) => s.id === stream.id));

      // The master lists the rungs that fit a 480p input (never 720p/1080p) and both playlists advance.
      const master = await waitFor('master playlist', async () => {
        const m = await fetchPlaylist(creator, `${playback_url}?viewer=viewer-one-0001`);
        return m.status === 200 ? m.text : null;
      });
      const variants = master.split('\n').filter((l) => l && !l.startsWith('#'));
      assert.deepEqual(variants, ['480p/index.m3u8?viewer=viewer-one-0001', '360p/index.m3u8?viewer=viewer-one-0001']);
      assert.match(master, /RESOLUTION=854x480/);
      assert.match(master, /RESOLUTION=640x360/);
      assert.doesNotMatch(master, /720/);
      const base = playback_url.replace(/master\.m3u8$/, '');
      const media = async (rung: string, viewer = 'viewer-one-0001') => {
        const r = await fetchPlaylist(creator, `${base}${rung}/index.m3u8?viewer=${viewer}`);
        assert.equal(r.status, 200);
        assert.equal(r.cacheControl, 'no-cache, no-store');
        return parseMediaPlaylist(r.text);
      };
      for (const rung of ['480p', '360p']) {
        const first = await media(rung);
        const firstLast = first.mediaSequence + first.segments.length;
        await waitFor(
          `${rung} playlist to advance`,
          async () => {
            const now = await media(rung);
            return now.mediaSequence + now.segments.length > firstLast;
          },
          15_000,
        );
      }
      const seg = (await media('480p')).segments.at(-1)!;
      const segRes = await fetch(`${base}480p/${seg}`);
      assert.equal(segRes.status, 200);
      assert.match(segRes.headers.get('cache-control') ?? '', /immutable/);
      assert.equal((await segRes.arrayBuffer()).byteLength % 188, 0, 'an MPEG-TS segment');
      assert.ok((await s3Objects(t, `live/${stream.id}/hls/480p/`)).length > 0, 'segments went through object storage');

      // A second viewer (by its own id) and a chat socket: three concurrent viewers.
      await media('360p', 'viewer-two-0002');
      const svc = liveService(t);
      svc.viewerJoined(stream.id, 'chat-user-3');
      const counted = await waitFor('three viewers', async () => {
        const s = (await getStream(creator, stream.id)).body;
        return s.viewer_count >= 3 ? s : null;
      });
      assert.equal(counted.viewer_count, 3);
      svc.viewerLeft(stream.id, 'chat-user-3');

      // A second simultaneous publisher is refused; the first keeps going.
      assert.match(await refusedPublish(rtmp_url, stream_key), /Publish refused/);
      assert.equal((await getStream(creator, stream.id)).body.status, 'live');

      // The encoder drops and comes back inside the window: same stream, one stream.started.
      await a.stop();
      a = null;
      await waitFor(
        'the publisher slot to be released',
        async () => {
          const row = await t.nova.container.db.kysely.selectFrom('streams').select(['publisher_id']).where('id', '=', stream.id).executeTakeFirstOrThrow();
          return row.publisher_id === null;
        },
        10_000,
      );
      await waitFor('no live ffmpeg after the publisher left', async () => liveFfmpegChildren().length === 0, 10_000);
      assert.equal((await getStream(creator, stream.id)).body.status, 'live', 'still live inside the reconnect window');
      b = startEncoder(rtmp_url, stream_key, { width: 854, height: 480, seconds: 6 });
      await waitFor(
        'the resumed session',
        async () => {
          const n = await t.nova.container.db.kysely.selectFrom('stream_sessions').select('id').where('stream_id', '=', stream.id).execute();
          return n.length === 2;
        },
        10_000,
      );
      const oldPrefix = seg.split('_')[0];
      const resumed = await waitFor(
        'segments of the resumed session',
        async () => {
          const pl = await media('480p');
          return pl.segments.some((x) => !x.startsWith(`${oldPrefix}_`)) ? pl : null;
        },
        20_000,
      );
      assert.ok(resumed.mediaSequence > 0, 'media sequence continues after the reconnect');
      assert.equal((await getStream(creator, stream.id)).body.status, 'live');
      assert.equal(await b.exited, 0, 'the resumed publish ran to its end');
      b = null;
      const streamedSeconds = (Date.now() - publishedAt) / 1000;

      // Gone for longer than the window: ended exactly once, with the peak viewer count.
      const ended = await waitFor(
        'ended after the reconnect window',
        async () => {
          const s = (await getStream(creator, stream.id)).body;
          return s.status === 'ended' ? s : null;
        },
        20_000,
      );
      assert.ok(ended.ended_at);
      assert.equal(ended.viewer_count, 0);
      assert.equal(ended.peak_viewer_count, 3);
      const events = await outboxEvents(t, stream.id);
      assert.deepEqual(
        events.map((e) => e.event_type),
        ['stream.started', 'stream.ended'],
      );
      const [started, endedEv] = events.map((e) => e.payload);
      assert.equal(started.stream_id, stream.id);
      assert.equal(started.creator_id, stream.creator_id);
      assert.equal(started.title, 'Reconnecting show');
      assert.match(String(started.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.match(String(started.event_id), /^[0-9a-f-]{36}$/);
      assert.equal(endedEv.stream_id, stream.id);
      assert.equal(endedEv.viewer_count, 3);
      const duration = Number(endedEv.duration_seconds);
      assert.ok(duration >= 6 && duration <= streamedSeconds + 2, `duration ${duration}s within 6..${streamedSeconds.toFixed(1)}s`);
      assert.deepEqual(liveFfmpegChildren(), [], 'no live ffmpeg left');
      await waitFor('the playlist to be gone', async () => (await fetchPlaylist(creator, playback_url)).status === 404, 5000);
      assert.equal(
        (await listStreams(creator, { status: 'live' })).body.items.some((s) => s.id === stream.id),
        false,
      );

      // The recording (both sessions joined) becomes a normal, playable video.
      const videoId = await waitFor('the recording handed over', async () => (await getStream(creator, stream.id)).body.recording_video_id, 30_000);
      const video = await waitFor(
        'the recorded video to be ready',
        async () => {
          const v = await creator.get<{ status: string; source_stream_id?: string; duration_seconds: number | null }>(`/api/v1/videos/${videoId}`);
          assert.notEqual(v.body.status, 'failed', JSON.stringify(v.body));
          return v.body.status === 'ready' ? v.body : null;
        },
        90_000,
        1000,
      );
      assert.ok((video.duration_seconds ?? 0) >= 5, `recording is ${video.duration_seconds}s long`);
      const playback = await creator.get<{ manifest_url: string }>(`/api/v1/videos/${videoId}/playback`);
      assert.equal(playback.status, 200);
      const manifest = await fetch(creator.url(playback.body.manifest_url));
      assert.equal(manifest.status, 200);
      assert.match(await manifest.text(), /#EXT-X-STREAM-INF/);
      const row = (await t.nova.container.db.kysely
        .selectFrom('videos' as never)
        .select(sql<string>`source_stream_id`.as('sid'))
        .where(sql`id`, '=', videoId)
        .executeTakeFirstOrThrow()) as { sid: string };
      assert.equal(row.sid, stream.id);
      await waitFor('live objects removed from S3', async () => (await s3Objects(t, `live/${stream.id}/`)).length === 0, 10_000);
    } finally {
      await a?.stop();
      await b?.stop();
    }
  });
});

function s3Objects(t: TestNova, prefix: string): Promise<string[]> {
  return t.nova.container.storage.list(prefix);
}

/** The in-process LiveService, as the chat capability uses it for its sockets. */
function liveService(t: TestNova): LiveService {
  const cap = t.nova.capabilities.find((c) => c.name === 'live') as (Capability & { service?: LiveService }) | undefined;
  assert.ok(cap?.service, 'the live capability exposes its service');
  return cap.service;
}
