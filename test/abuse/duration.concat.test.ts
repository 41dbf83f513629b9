// Abuse: walking around the duration limit. Fifteen MPEG-TS copies of a 2 s clip, concatenated, probe
// as 2 s (so they pass MAX_INPUT_DURATION_SECONDS) but hold 30 s. The transcode stops just past the
// declared length and the video fails with a reason; an honest copy of the same stream is accepted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createVideo, getPlayback, uploadFile, waitForStatus } from '../../src/client/videos.client.js';
import { DURATION_TOLERANCE_SECONDS } from '../../src/media/hls.args.js';
import { MediaError, probeMedia, resolveMediaTools, transcodeToHls } from '../../src/media/index.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';
import { CLIP_DIR, removeClips, vodUsers, type VodUsers } from '../helpers/vod.js';
import { currentFfmpegSkipReason } from '../helpers/media.js';

const COPIES = 15;
const LIMIT_SECONDS = 10;

/** Seconds of media ffmpeg reads from the file (stream copy to nothing: no decoding needed). */
function heldSeconds(file: string): number {
  const r = spawnSync(resolveMediaTools().ffmpeg, ['-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1', '-nostats'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const times = [...r.stdout.matchAll(/^out_time_us=(\d+)$/gm)].map((m) => Number(m[1]));
  return Math.max(...times) / 1e6;
}

/** Total EXTINF seconds of every media playlist written under outDir. */
function writtenSeconds(outDir: string): number[] {
  return fs
    .readdirSync(outDir)
    .filter((d) => fs.existsSync(path.join(outDir, d, 'index.m3u8')))
    .map((d) => {
      const text = fs.readFileSync(path.join(outDir, d, 'index.m3u8'), 'utf8');
      return [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    });
}

describe('abuse: a file holding more media than it declares (concatenated MPEG-TS)', { skip: currentFfmpegSkipReason() }, () => {
  let t: TestNova;
  let u: VodUsers;
  const one = path.join(CLIP_DIR, 'one.ts');
  const many = path.join(CLIP_DIR, 'concatenated.ts');

  before(async () => {
    t = await startTestNova({ JOB_BACKOFF_SECONDS: '0', MAX_INPUT_DURATION_SECONDS: String(LIMIT_SECONDS) });
    u = await vodUsers(t.client);
    const r = spawnSync(resolveMediaTools().ffmpeg, [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '25',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      one,
    ]);
    assert.equal(r.status, 0, String(r.stderr));
    fs.writeFileSync(many, Buffer.concat(Array.from({ length: COPIES }, () => fs.readFileSync(one))));
  });
  after(async () => {
    await t.stop();
    removeClips();
  });

  it(`probes as one copy (under the ${LIMIT_SECONDS} s limit) while it holds ${COPIES} copies`, async () => {
    const info = await probeMedia(many, { maxDurationSeconds: LIMIT_SECONDS, maxPixels: 1e8, timeoutSeconds: 60 });
    assert.ok(info.duration_seconds < 3, `probed ${info.duration_seconds} s`);
    assert.ok(heldSeconds(many) > LIMIT_SECONDS * 2, 'the file really holds far more than the limit');
  });

  it('the transcode stops just past the declared length and refuses the file', async () => {
    const info = await probeMedia(many, { maxDurationSeconds: LIMIT_SECONDS, maxPixels: 1e8, timeoutSeconds: 60 });
    const outDir = fs.mkdtempSync(path.join(CLIP_DIR, 'hls-'));
    const err = await transcodeToHls({ inputPath: many, outDir, info, preset: 'ultrafast', timeoutSeconds: 300 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof MediaError, `expected a MediaError, got ${String(err)}`);
    assert.equal(err.code, 'too_long');
    assert.equal(err.retryable, false);
    const written = writtenSeconds(outDir);
    assert.ok(written.length > 0, 'ffmpeg ran and wrote its playlists');
    for (const s of written) assert.ok(s <= info.duration_seconds + 2 * DURATION_TOLERANCE_SECONDS + 0.5, `a rendition of ${s} s was written`);
  });

  it('the upload fails after one attempt with a reason, and nothing is published', async () => {
    const created = await createVideo(u.owner, { title: 'Fifteen in one' });
    await uploadFile(u.owner, created.body.upload.url, many);
    const p = await waitForStatus(u.owner, created.body.video.id, ['ready', 'failed'], 180_000);
    assert.equal(p.status, 'failed');
    assert.match(p.error ?? '', /more video than it declares/);
    assert.doesNotMatch(p.error ?? '', /\/tmp|ffmpeg version|at \w+ \(/);
    assert.equal(p.attempts, 1);
    assert.equal((await getPlayback(u.owner, created.body.video.id)).status, 409);
  });

  it('one honest copy of the same stream is accepted at its length', async () => {
    const created = await createVideo(u.owner, { title: 'Just one' });
    await uploadFile(u.owner, created.body.upload.url, one);
    const p = await waitForStatus(u.owner, created.body.video.id, ['ready', 'failed'], 180_000);
    assert.equal(p.status, 'ready', p.error ?? '');
    const playback = await getPlayback(u.owner, created.body.video.id);
    assert.equal(playback.status, 200);
    assert.ok(Math.abs((playback.body.duration_seconds ?? 0) - 2) < 0.5, `duration ${playback.body.duration_seconds}`);
  });
});
