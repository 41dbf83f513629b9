// UPLOAD_STORE=s3 as users run it: tus uploads staged as S3 multipart uploads (@tus/s3-store) on
// S3Proxy, a server with complete multipart support: an upload interrupted mid-way resumes (HEAD
// lists the parts written so far), then the video transcodes and plays back from S3.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVideo, getPlayback, uploadFile, waitForStatus } from '../src/client/videos.client.js';
import { currentFfmpegSkipReason } from './helpers/media.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { s3proxySkipReason, startS3Proxy } from './helpers/s3proxy.js';
import type { TestS3 } from './helpers/s3.js';
import { clip, fetchText, playlistEntries, removeClips } from './helpers/vod.js';

const skip = s3proxySkipReason() || currentFfmpegSkipReason();

describe('uploads on S3 (UPLOAD_STORE=s3, S3Proxy)', { skip }, () => {
  let s3: TestS3;
  let t: TestNova;
  before(async () => {
    s3 = await startS3Proxy();
    t = await startTestNova({ ...s3.env, UPLOAD_STORE: 's3' });
  });
  after(async () => {
    await t?.stop();
    await s3?.stop();
    removeClips();
  });

  it('an interrupted upload resumes, transcodes and plays from the bucket', async () => {
    await t.client.newUser('admin');
    const { client } = await t.client.newUser('uploader');
    const file = await clip('s3-source.mp4', { width: 640, height: 360, seconds: 4 });
    const created = await createVideo(client, { title: 'on s3' });
    assert.equal(created.status, 201);
    const endpoint = created.body.upload.url;

    // First attempt: stopped after its first chunk.
    const chunkSize = 64 * 1024;
    const control: { abort?: () => Promise<void> } = {};
    let url = '';
    await new Promise<void>((resolve, reject) => {
      let stopped = false;
      uploadFile(client, endpoint, file, {
        chunkSize,
        control,
        onUrl: (u) => (url = u),
        onProgress: (sent) => {
          if (!stopped && sent >= chunkSize) {
            stopped = true;
            void control.abort!().then(resolve, reject);
          }
        },
      }).then(() => resolve(), reject);
    });
    assert.ok(url, 'the upload was created');
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${client.token}` } });
    assert.equal(head.status, 200);
    // The offset comes from the parts S3 lists for the multipart upload (what s3rver could not answer).
    const offset = Number(head.headers.get('upload-offset'));
    assert.ok(Number.isInteger(offset) && offset >= 0 && offset < (await import('node:fs')).statSync(file).size, `offset ${offset}`);

    // Resumed from the server's offset, to the end.
    await uploadFile(client, endpoint, file, { resumeUrl: url, chunkSize });
    const done = await waitForStatus(client, created.body.video.id, ['ready', 'failed'], 240_000);
    assert.equal(done.status, 'ready', JSON.stringify(done));

    const pb = await getPlayback(client, created.body.video.id);
    assert.equal(pb.status, 200);
    const master = await fetchText(pb.body.manifest_url);
    assert.equal(master.status, 200);
    const media = playlistEntries(master.text, pb.body.manifest_url).find((x) => x.endsWith('.m3u8'))!;
    const playlist = await fetchText(media);
    assert.equal(playlist.status, 200);
    const segment = playlistEntries(playlist.text, media)[0];
    const seg = await fetch(segment);
    assert.equal(seg.status, 200);
    assert.ok(seg.url.startsWith(s3.endpoint), `segments come from the bucket (${seg.url})`);
    assert.ok((await seg.arrayBuffer()).byteLength > 1000);
  });
});
