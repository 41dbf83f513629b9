// DVR over real RTMP and ffmpeg: a stream with a 60 s window, live for 90 s without recording,
// keeps ~60 s in its media playlist and no older segment in storage; a viewer clips 10 s of it.
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { chatReplay, clipStream } from '../src/client/clips.client.js';
import { createStream, endStream, fetchPlaylist, getStream, startEncoder, type Encoder } from '../src/client/live.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { parseLiveSegments } from '../src/media/live.args.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { playsInFfprobe } from './helpers/hls-play.js';
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

const SEGMENT = 2;
const WINDOW = 60;

describe('DVR window (recording off)', { skip: currentFfmpegSkipReason() }, () => {
  let t: TestNova;
  let creator: NovaClient;
  let viewer: NovaClient;
  let enc: Encoder | null = null;

  before(async () => {
    t = await startTestNova({ LIVE_SEGMENT_SECONDS: String(SEGMENT), LIVE_RECORD: 'false' });
    await t.client.newUser('admin');
    creator = (await t.client.newUser('streamer')).client;
    viewer = (await t.client.newUser('viewer')).client;
  });
  after(async () => {
    await enc?.stop();
    await t.stop();
  });

  it('keeps 60 s in the playlist after 90 s live, no older segment in storage, and clips 10 s of it', async (ctx) => {
    const bad = await createStream(creator, 'too long', { dvr_window_seconds: 7201 });
    assert.equal(bad.status, 400);
    const created = await createStream(creator, 'Rewind me', { dvr_window_seconds: WINDOW, clips_by_viewers: true });
    assert.equal(created.status, 201);
    const { stream, stream_key, rtmp_url, playback_url } = created.body;
    assert.equal(stream.dvr_window_seconds, WINDOW);
    assert.equal(stream.reusable, undefined, 'single-use unless asked');
    enc = startEncoder(rtmp_url, stream_key, { seconds: 140 });
    await waitFor('live', async () => (await getStream(creator, stream.id)).body.status === 'live');
    const liveAt = Date.now();
    const media = `${playback_url.replace(/master\.m3u8$/, '')}360p/index.m3u8`;

    await sleep(90_000 - (Date.now() - liveAt));
    const pl = await fetchPlaylist(creator, media);
    assert.equal(pl.status, 200);
    const segments = parseLiveSegments(pl.text);
    const span = segments.reduce((a, s) => a + s.duration, 0);
    assert.ok(span >= WINDOW - 2 * SEGMENT && span <= WINDOW + SEGMENT, `the playlist spans ${span.toFixed(1)}s`);
    assert.doesNotMatch(pl.text, /#EXT-X-ENDLIST/);
    assert.ok(
      segments.every((s) => s.at !== null),
      'each segment has its capture time',
    );

    // Storage: only the window (plus the two segments a player may still be fetching).
    const stored = (await t.nova.container.storage.list(`live/${stream.id}/hls/360p/`)).filter((k) => k.endsWith('.ts'));
    const seq = (name: string) => Number(/_(\d+)\.ts$/.exec(name)![1]);
    const oldestListed = seq(segments[0].uri);
    const newestListed = seq(segments.at(-1)!.uri);
    assert.ok(newestListed >= 90 / SEGMENT - 8, `about 45 segments were made (newest ${newestListed})`);
    const older = stored.filter((k) => seq(k) < oldestListed - 3);
    assert.deepEqual(older, [], 'no segment older than the window stays in storage');
    assert.ok(stored.length <= segments.length + 4, `${stored.length} segments stored for ${segments.length} listed`);

    // A viewer clips 10 s from 40 s back (the creator allows clips by viewers).
    const asked = Date.now();
    const clip = await clipStream(viewer, stream.id, { seconds_back: 40, duration_seconds: 10, title: 'that moment' });
    ctx.diagnostic(`10 s clip from the DVR window: ready ${Date.now() - asked} ms after the request (load ${os.loadavg()[0].toFixed(1)})`);
    assert.equal(clip.status, 201, JSON.stringify(clip.body));
    assert.equal(clip.body.video.status, 'ready');
    assert.equal(clip.body.video.owner_id !== stream.creator_id, true, 'the clip belongs to who cut it');
    const length = clip.body.video.duration_seconds ?? 0;
    assert.ok(Math.abs(length - 10) <= SEGMENT, `clip lasts ${length}s`);
    assert.ok(Math.abs(clip.body.end_seconds - clip.body.start_seconds - length) < 0.01);
    assert.ok(clip.body.start_seconds > 30 && clip.body.start_seconds < 70, `cut at ${clip.body.start_seconds}s of the broadcast`);
    const played = await playsInFfprobe(clip.body.video.manifest_url!);
    assert.ok(Math.abs(played - length) <= 1, `ffprobe says ${played}s`);
    assert.equal((await chatReplay(viewer, clip.body.video.id)).status, 200, 'a stream clip has a (here empty) chat');

    // Out of the window, too long, past the live edge, anonymous.
    const outside = await clipStream(creator, stream.id, { seconds_back: 300, duration_seconds: 10, title: 'x' });
    assert.equal(outside.status, 400);
    assert.match((outside.body as unknown as { detail: string }).detail, /Only the last/);
    assert.equal((await clipStream(creator, stream.id, { seconds_back: 130, duration_seconds: 121, title: 'x' })).status, 400);
    assert.equal((await clipStream(creator, stream.id, { seconds_back: 5, duration_seconds: 10, title: 'x' })).status, 400);
    assert.equal((await clipStream(creator.as(null), stream.id, { seconds_back: 20, duration_seconds: 10, title: 'x' })).status, 401);

    assert.equal((await endStream(creator, stream.id)).status, 200);
    const afterEnd = await clipStream(creator, stream.id, { seconds_back: 20, duration_seconds: 10, title: 'x' });
    assert.equal(afterEnd.status, 409);
    await waitFor('live objects removed', async () => (await t.nova.container.storage.list(`live/${stream.id}/`)).length === 0, 20_000);
  });
});
