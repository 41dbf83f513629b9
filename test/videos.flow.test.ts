// The VOD flow over real HTTP on the embedded defaults (SQLite, local storage, embedded queue):
// create → tus upload → progress over SSE and WebSocket → ready → playback of master and media
// playlists, segments with ranges, poster → list → delete removes every object.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createVideo,
  deleteVideo,
  getPlayback,
  getProgress,
  getVideo,
  listJobs,
  listVideos,
  readProgressSocket,
  readProgressStream,
  uploadFile,
  waitForStatus,
  type Progress,
} from '../src/client/videos.client.js';
import type { Problem } from '../src/client/nova-client.js';
import { STAGES } from '../src/videos/progress.bus.js';
import { BUFSIZE_FACTOR, MAXRATE_FACTOR } from '../src/media/ladder.js';
import { TARGET_CRF } from '../src/media/index.js';
import { makeSource } from './fixtures/encoding-sources.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { clip, CLIP_DIR, createAndUpload, fetchText, playlistEntries, removeClips, variantAttributes, vodUsers, type VodUsers } from './helpers/vod.js';

/**
 * x264's settings line ("x264 - core … rc=abr … bitrate=600 …") from the SEI in an MPEG-TS segment:
 * the payloads of the PID with the most packets (the video) joined, so a line split across packets reads whole.
 */
function x264Settings(ts: Buffer): Record<string, string> {
  const byPid = new Map<number, Buffer[]>();
  for (let i = 0; i + 188 <= ts.length; i += 188) {
    if (ts[i] !== 0x47) continue;
    const pid = ((ts[i + 1] & 0x1f) << 8) | ts[i + 2];
    const afc = (ts[i + 3] >> 4) & 3;
    const start = i + 4 + (afc & 2 ? 1 + ts[i + 4] : 0);
    if (afc & 1 && start < i + 188) byPid.set(pid, [...(byPid.get(pid) ?? []), ts.subarray(start, i + 188)]);
  }
  const video = Buffer.concat([...byPid.values()].sort((a, b) => b.length - a.length)[0] ?? []).toString('latin1');
  const line = /x264 - core [^\0]*?options: ([^\0]*)/.exec(video)?.[1] ?? '';
  return Object.fromEntries(
    line
      .split(' ')
      .map((kv) => kv.split('='))
      .filter((kv) => kv.length === 2),
  );
}

describe('videos: upload → HLS → playback → delete (embedded)', () => {
  let t: TestNova;
  let u: VodUsers;
  let file: string;
  before(async () => {
    t = await startTestNova();
    u = await vodUsers(t.client);
    file = await clip('flow-480p.mp4', { width: 854, height: 480, seconds: 4, fps: 24 });
  });
  after(async () => {
    await t.stop();
    removeClips();
  });

  let videoId = '';
  let events: Progress[] = [];
  let frames: Progress[] = [];

  it('creates a video with a tus upload endpoint, uploads it and reports every stage in order', async () => {
    const created = await createVideo(u.owner, { title: 'Flow', description: 'a test clip' });
    assert.equal(created.status, 201);
    assert.equal(created.body.video.status, 'waiting_upload');
    assert.equal(created.body.upload.protocol, 'tus');
    assert.equal(created.body.upload.max_size, 10 * 1024 ** 3);
    assert.match(created.body.upload.url, new RegExp(`/api/v1/uploads/${created.body.video.id}$`));
    videoId = created.body.video.id;

    const waiting = await getProgress(u.owner, videoId);
    assert.deepEqual({ status: waiting.body.status, progress: waiting.body.progress, queue_position: waiting.body.queue_position }, { status: 'waiting_upload', progress: 0, queue_position: null });

    // Listen before the upload so the streams see the whole pipeline.
    const sse = readProgressStream(u.owner, videoId);
    const ws = readProgressSocket(u.owner, videoId);
    await new Promise((r) => setTimeout(r, 300));
    await uploadFile(u.owner, created.body.upload.url, file, { chunkSize: 256 * 1024 });
    [events, frames] = await Promise.all([sse, ws]);

    const done = await waitForStatus(u.owner, videoId, ['ready', 'failed'], 120_000);
    assert.equal(done.status, 'ready', `processing failed: ${done.error}`);
    assert.equal(done.progress, 100);
    assert.equal(done.attempts, 1);

    // SSE: monotonic, one event per change, every stage in the contract's order, ends at ready.
    assert.ok(events.length >= STAGES.length, `only ${events.length} events`);
    for (let i = 1; i < events.length; i++) {
      const a = events[i - 1];
      const b = events[i];
      assert.ok(b.progress >= a.progress, `progress went back: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
      assert.notDeepEqual(a, b, 'an event repeated the previous one');
    }
    const stages = events.map((e) => e.stage).filter((s, i, all): s is string => s !== null && s !== all[i - 1]);
    assert.deepEqual(
      stages,
      STAGES.map(([s]) => s),
    );
    for (const e of events) {
      const start = STAGES.find(([s]) => s === e.stage)?.[1];
      if (start !== undefined) assert.ok(e.progress >= start, `${e.stage} at ${e.progress} < ${start}`);
    }
    assert.ok(
      events.some((e) => e.stage === 'transcode' && e.progress > 30 && e.progress < 80),
      'transcode progress between 30 and 80 was reported',
    );
    assert.equal(events.at(-1)?.status, 'ready');
    // The WebSocket twin carries the same data and closes at the end as well.
    assert.equal(frames.at(-1)?.status, 'ready');
    assert.deepEqual(
      frames.map((f) => f.stage).filter((s, i, all) => s !== null && s !== all[i - 1]),
      stages,
    );
  });

  it('describes the ready video: metadata, renditions by short side, poster', async () => {
    const v = (await getVideo(t.client.as(null), videoId)).body;
    assert.equal(v.status, 'ready');
    assert.equal(v.width, 854);
    assert.equal(v.height, 480);
    assert.ok(v.duration_seconds && Math.abs(v.duration_seconds - 4) < 0.5);
    assert.equal(v.has_audio, true);
    assert.deepEqual(
      v.renditions.map((r) => r.height).sort((a, b) => b - a),
      [480, 360],
    );
    for (const r of v.renditions) {
      assert.ok(r.bandwidth > 0 && r.codecs.includes('avc1'), JSON.stringify(r));
      assert.match(r.playlist_url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/videos\/.+\.m3u8$/);
      // The quality receipt: measured against the source scaled to the rendition's size.
      assert.ok(r.quality && r.quality.ssim > 0.8 && r.quality.ssim <= 1, JSON.stringify(r));
      assert.ok(r.quality.ssim_p10 <= r.quality.ssim && r.quality.ssim_p10 > 0.5 && r.quality.psnr > 20, JSON.stringify(r));
      assert.ok(r.bytes && r.bytes > 0, JSON.stringify(r));
    }
    assert.deepEqual(v.encoding, { mode: 'per_title' });
    assert.ok(v.thumbnail_url);
    const poster = await fetch(v.thumbnail_url!);
    assert.equal(poster.status, 200);
    assert.equal(poster.headers.get('content-type'), 'image/jpeg');
    assert.ok((await poster.arrayBuffer()).byteLength > 500);
    assert.ok(v.storyboard_url);
    const vtt = await fetchText(v.storyboard_url!);
    assert.equal(vtt.status, 200);
    assert.match(vtt.text, /^WEBVTT/);
  });

  it('plays: master and media playlists over HTTP, segments with types, cache headers and ranges', async () => {
    const pb = await getPlayback(t.client.as(null), videoId);
    assert.equal(pb.status, 200);
    assert.equal(pb.body.status, 'ready');
    const master = await fetchText(pb.body.manifest_url);
    assert.equal(master.status, 200);
    assert.equal(master.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.match(master.text, /^#EXTM3U/);
    const variants = variantAttributes(master.text);
    assert.equal(variants.length, 2);
    for (const a of variants) for (const k of ['BANDWIDTH', 'AVERAGE-BANDWIDTH', 'RESOLUTION', 'CODECS', 'FRAME-RATE']) assert.ok(a[k], `variant lacks ${k}`);

    const mediaUrls = playlistEntries(master.text, pb.body.manifest_url).filter((x) => x.endsWith('.m3u8'));
    assert.equal(mediaUrls.length, 2);
    for (const mu of mediaUrls) {
      const media = await fetchText(mu);
      assert.equal(media.status, 200);
      assert.equal(media.headers.get('cache-control'), 'public, max-age=300');
      for (const tag of ['#EXT-X-TARGETDURATION', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-ENDLIST']) assert.ok(media.text.includes(tag), `${mu} lacks ${tag}`);
      const segs = playlistEntries(media.text, mu);
      assert.ok(segs.length >= 1);
      const seg = await fetch(segs[0]);
      assert.equal(seg.status, 200);
      assert.match(seg.headers.get('content-type') ?? '', /^(video\/mp2t|video\/iso\.segment|video\/mp4)$/);
      assert.equal(seg.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(seg.headers.get('accept-ranges'), 'bytes');
      const whole = Buffer.from(await seg.arrayBuffer());
      assert.equal(Number(seg.headers.get('content-length')), whole.length);
      const part = await fetch(segs[0], { headers: { range: 'bytes=10-109' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 10-109/${whole.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(10, 110));
      const tail = await fetch(segs[0], { headers: { range: 'bytes=-50' } });
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(whole.length - 50));
      const beyond = await fetch(segs[0], { headers: { range: `bytes=${whole.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${whole.length}`);
    }
  });

  it('never serves the source, and hides unfinished videos from others', async () => {
    const src = await fetch(`${t.url}/api/v1/videos/${videoId}/media/source/original`);
    assert.equal(src.status, 404);
    const sneaky = await fetch(`${t.url}/api/v1/videos/${videoId}/media/r/..%2Fsource/original`);
    assert.equal(sneaky.status, 404);
    const draft = await createVideo(u.owner, { title: 'Draft' });
    assert.equal((await getVideo(u.other, draft.body.video.id)).status, 404);
    assert.equal((await getPlayback(u.owner, draft.body.video.id)).status, 409);
    const mine = await listVideos(u.owner, { owner: 'me' });
    assert.deepEqual(new Set(mine.body.items.map((v) => v.id)), new Set([videoId, draft.body.video.id]));
    const theirs = await listVideos(u.other, { owner: u.ownerInfo.id });
    assert.deepEqual(
      theirs.body.items.map((v) => v.id),
      [videoId],
    );
    const page1 = await listVideos(u.owner, { owner: 'me', limit: 1 });
    assert.equal(page1.body.items.length, 1);
    assert.ok(page1.body.next_cursor);
    const page2 = await listVideos(u.owner, { owner: 'me', limit: 1, cursor: page1.body.next_cursor! });
    assert.equal(page2.body.items.length, 1);
    assert.notEqual(page2.body.items[0].id, page1.body.items[0].id);
    assert.equal((await listVideos(u.owner, { status: 'waiting_upload', owner: 'me' })).body.items.length, 1);
    assert.equal((await listVideos(t.client.as(null), { owner: 'me' })).status, 401);
    const jobs = await listJobs(u.admin);
    assert.equal(jobs.status, 200);
    assert.ok(jobs.body.counts.done >= 1);
    assert.equal((await listJobs(u.owner)).status, 403);
  });

  it('plays before it is ready: playback answers `processing` with a growing EVENT playlist', async () => {
    const long = await clip('flow-long-360p.mp4', { width: 640, height: 360, seconds: 24, fps: 24 });
    const created = await createVideo(u.owner, { title: 'Early' });
    const id = created.body.video.id;
    assert.equal((await getPlayback(u.owner, id)).status, 409);
    await uploadFile(u.owner, created.body.upload.url, long);
    let early: Awaited<ReturnType<typeof getPlayback>> | null = null;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const pb = await getPlayback(u.owner, id);
      if (pb.status === 200) {
        early = pb;
        break;
      }
      assert.equal(pb.status, 409);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(early, 'never playable');
    assert.equal(early.body.status, 'processing', 'the first playable answer came only once the video was ready');
    const master = await fetchText(early.body.manifest_url);
    assert.equal(master.status, 200);
    assert.equal(master.headers.get('cache-control'), 'no-cache');
    const media = playlistEntries(master.text, early.body.manifest_url).find((x) => x.endsWith('.m3u8'))!;
    const event = await fetchText(media);
    assert.equal(event.status, 200);
    assert.equal(event.headers.get('cache-control'), 'no-cache');
    const segs = playlistEntries(event.text, media);
    assert.ok(segs.length >= 1);
    assert.equal((await fetch(segs[0])).status, 200);
    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 120_000);
    assert.equal(done.status, 'ready');
    const final = await getPlayback(u.owner, id);
    assert.equal(final.body.status, 'ready');
    const vod = await fetchText(playlistEntries((await fetchText(final.body.manifest_url)).text, final.body.manifest_url).find((x) => x.endsWith('.m3u8'))!);
    assert.ok(vod.text.includes('#EXT-X-ENDLIST'));
    assert.equal(await deleteVideo(u.owner, id).then((r) => r.status), 204);
  });

  it('deleting a video mid-transcode stops its job and leaves no object behind', async () => {
    const long = await clip('flow-long-360p.mp4', { width: 640, height: 360, seconds: 24, fps: 24 });
    const created = await createVideo(u.owner, { title: 'Doomed' });
    const id = created.body.video.id;
    await uploadFile(u.owner, created.body.upload.url, long);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const p = (await getProgress(u.owner, id)).body;
      assert.notEqual(p.status, 'ready', 'finished before it could be deleted');
      if (p.stage === 'transcode') break;
      assert.ok(Date.now() < deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await deleteVideo(u.owner, id)).status, 204);
    // The worker stops and removes what it had published early; wait for it, then check it stays empty.
    const work = path.join(t.dataDir, 'tmp', 'transcode');
    const stopped = Date.now() + 60_000;
    while (fs.existsSync(work) && fs.readdirSync(work).length > 0 && Date.now() < stopped) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(fs.existsSync(work) ? fs.readdirSync(work) : [], [], 'the worker left its temp files');
    assert.deepEqual(await t.nova.container.storage.list(`videos/${id}/`), []);
    assert.equal(fs.existsSync(path.join(t.dataDir, 'objects', 'videos', id)), false);
  });

  it('deletes: owner or admin only; every object goes; video.deleted is in the outbox', async () => {
    const denied = await deleteVideo(u.other, videoId);
    assert.equal(denied.status, 403);
    assert.match((denied.body as Problem).detail, /owner/);
    const dir = path.join(t.dataDir, 'objects', 'videos', videoId);
    assert.ok(fs.existsSync(dir));
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.equal(fs.existsSync(dir), false, 'objects left behind');
    assert.deepEqual(await t.nova.container.storage.list(`videos/${videoId}/`), []);
    assert.equal((await getVideo(u.owner, videoId)).status, 404);
    assert.equal((await deleteVideo(u.owner, videoId)).status, 404);
    const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['event_type']).where('event_key', '=', videoId).orderBy('seq').execute();
    const types = rows.map((r) => r.event_type);
    for (const ty of ['video.uploaded', 'video.upload.completed', 'video.progress', 'video.ready', 'video.deleted']) assert.ok(types.includes(ty), `${ty} missing from ${types.join(',')}`);
    assert.ok(types.indexOf('video.uploaded') < types.indexOf('video.ready'));
  });

  it('ENCODING_MODE=fixed encodes the contract ladder with ABR; per_title (default) spends fewer bytes on a slide', { timeout: 600_000 }, async () => {
    const slide = await makeSource('slide', path.join(CLIP_DIR, 'flow-slide-360p.mkv'), { width: 640, height: 360, seconds: 3 });
    const fixedNova = await startTestNova({ ENCODING_MODE: 'fixed' });
    try {
      const f = await vodUsers(fixedNova.client);
      const [pt, fx] = await Promise.all([createAndUpload(u.other, slide, 'slide per-title'), createAndUpload(f.owner, slide, 'slide fixed')]);
      const [ptDone, fxDone] = await Promise.all([waitForStatus(u.other, pt.video.id, ['ready', 'failed'], 300_000), waitForStatus(f.owner, fx.video.id, ['ready', 'failed'], 300_000)]);
      assert.equal(ptDone.status, 'ready', `per_title: ${ptDone.error}`);
      assert.equal(fxDone.status, 'ready', `fixed: ${fxDone.error}`);
      const ptVideo = (await getVideo(u.other, pt.video.id)).body;
      const fxVideo = (await getVideo(f.owner, fx.video.id)).body;
      assert.deepEqual(ptVideo.encoding, { mode: 'per_title' });
      assert.deepEqual(fxVideo.encoding, { mode: 'fixed' });
      assert.deepEqual(
        ptVideo.renditions.map((r) => r.height),
        [360],
      );
      assert.deepEqual(
        fxVideo.renditions.map((r) => r.height),
        [360],
      );

      // What the encoder was told, read from the stream itself: the fixed ladder's ABR at the contract's
      // 600 kb/s for 360p (so no probe shaped it); per-title's capped CRF, its cap no higher than that.
      const settings = async (c: typeof u.other, id: string) => {
        const pb = (await getPlayback(c, id)).body;
        const media = playlistEntries((await fetchText(pb.manifest_url)).text, pb.manifest_url).find((x) => x.endsWith('.m3u8'))!;
        const seg = playlistEntries((await fetchText(media)).text, media)[0];
        return x264Settings(Buffer.from(await (await fetch(seg)).arrayBuffer()));
      };
      const fxx = await settings(f.owner, fx.video.id);
      const ptx = await settings(u.other, pt.video.id);
      assert.equal(fxx.rc, 'abr', JSON.stringify(fxx));
      assert.equal(Number(fxx.bitrate), 600, JSON.stringify(fxx));
      assert.equal(Number(fxx.vbv_maxrate), Math.round(600 * MAXRATE_FACTOR), JSON.stringify(fxx));
      assert.equal(Number(fxx.vbv_bufsize), 600 * BUFSIZE_FACTOR, JSON.stringify(fxx));
      assert.equal(ptx.rc, 'crf', JSON.stringify(ptx));
      assert.equal(Number(ptx.crf), TARGET_CRF, JSON.stringify(ptx));
      assert.ok(Number(ptx.vbv_maxrate) <= Math.round(600 * MAXRATE_FACTOR), JSON.stringify(ptx));

      // Same picture, fewer bytes: the issue asks ≥ 40 % fewer on a slide at 1080p; this 360p slide at
      // the tests' ultrafast preset comes out at 0.61 of fixed (the same in three runs), so ≤ 0.75 is a margin.
      const ptBytes = ptVideo.renditions[0].bytes ?? 0;
      const fxBytes = fxVideo.renditions[0].bytes ?? 0;
      const detail = `per_title ${ptBytes} B ssim ${ptVideo.renditions[0].quality?.ssim}, fixed ${fxBytes} B ssim ${fxVideo.renditions[0].quality?.ssim}`;
      assert.ok(fxBytes > 0 && ptBytes > 0 && ptBytes <= 0.75 * fxBytes, detail);
      assert.ok(ptVideo.renditions[0].quality!.ssim >= fxVideo.renditions[0].quality!.ssim - 0.005, detail);
    } finally {
      await fixedNova.stop();
    }
  });
});
