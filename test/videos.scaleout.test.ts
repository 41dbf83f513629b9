// The VOD flow scaled out: Postgres, BullMQ on Redis, S3 (a real s3rver), an API node and a separate
// worker node. The API node's SSE stream sees every stage the worker reports (Redis pub/sub); media
// files redirect to presigned S3 URLs while playlists are served by Nova; delete empties the bucket.
// (Uploads are staged on the API node's disk here: s3rver lacks the ListParts call @tus/s3-store needs.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createVideo, deleteVideo, getPlayback, listJobs, readProgressStream, uploadFile, waitForStatus } from '../src/client/videos.client.js';
import { STAGES } from '../src/videos/progress.bus.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { startS3, type TestS3 } from './helpers/s3.js';
import { clip, fetchText, playlistEntries, removeClips, sha256, vodUsers, type VodUsers } from './helpers/vod.js';

describe('videos scaled out: Postgres + BullMQ/Redis + S3, API and worker on separate nodes', () => {
  let skip: string | false = false;
  let pg: TestDatabase;
  let s3: TestS3;
  let api: TestNova;
  let worker: TestNova;
  let u: VodUsers;
  const prefix = `nova-vod-${Date.now().toString(36)}`;

  before(async () => {
    skip = (await postgresSkipReason()) || (await requireServer('Redis', '127.0.0.1', Number(new URL(REDIS_TEST_URL).port || 6379)));
    if (skip) return;
    pg = await createTestDatabase();
    s3 = await startS3();
    const env = { DATABASE_URL: pg.url, REDIS_URL: REDIS_TEST_URL, QUEUE_PREFIX: prefix, UPLOAD_STORE: 'file', ...s3.env };
    api = await startTestNova(env, { api: true, worker: false });
    worker = await startTestNova(env, { api: false, worker: true });
    u = await vodUsers(api.client);
  });
  after(async () => {
    if (skip) return;
    await worker?.stop();
    await api?.stop();
    await s3?.stop();
    await pg?.drop();
    const redis = new Redis(REDIS_TEST_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    removeClips();
  });

  it('uploads, processes on the worker node, streams every stage to the API node, plays from S3, deletes', async (t) => {
    if (skip) return t.skip(skip);
    const file = await clip('scaleout-360p.mp4', { width: 640, height: 360, seconds: 3 });
    const created = await createVideo(u.owner, { title: 'Scaled' });
    const id = created.body.video.id;
    const sse = readProgressStream(u.owner, id);
    await new Promise((r) => setTimeout(r, 300));
    await uploadFile(u.owner, created.body.upload.url, file);
    const events = await sse;
    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 120_000);
    assert.equal(done.status, 'ready', `failed: ${done.error}`);

    const stages = events.map((e) => e.stage).filter((s, i, all): s is string => s !== null && s !== all[i - 1]);
    assert.deepEqual(
      stages,
      STAGES.map(([s]) => s),
    );
    for (let i = 1; i < events.length; i++) assert.ok(events[i].progress >= events[i - 1].progress);

    // The source went to S3 intact; the queue ran on BullMQ.
    const storage = api.nova.container.storage;
    const keys = await storage.list(`videos/${id}/`);
    assert.ok(keys.includes(`videos/${id}/source/original`));
    const source = await storage.getBuffer(`videos/${id}/source/original`);
    assert.equal(source.length, (await import('node:fs')).statSync(file).size);
    assert.equal((await import('node:crypto')).createHash('sha256').update(source).digest('hex'), sha256(file));
    const jobs = await listJobs(u.admin);
    assert.equal(jobs.body.queue, 'bullmq');
    assert.ok(jobs.body.counts.done >= 1);

    const pb = await getPlayback(u.owner, id);
    assert.equal(pb.status, 200);
    const master = await fetchText(pb.body.manifest_url);
    assert.equal(master.status, 200);
    assert.equal(master.url, pb.body.manifest_url, 'playlists are served by Nova, not redirected');
    const media = playlistEntries(master.text, pb.body.manifest_url).find((x) => x.endsWith('.m3u8'))!;
    const mediaText = await fetchText(media);
    assert.ok(mediaText.text.includes('#EXT-X-ENDLIST'));
    const seg = playlistEntries(mediaText.text, media)[0];
    const redirect = await fetch(seg, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = redirect.headers.get('location') ?? '';
    assert.ok(location.startsWith(s3.endpoint), location);
    assert.match(location, /X-Amz-Signature=/);
    const whole = Buffer.from(await (await fetch(seg)).arrayBuffer());
    assert.ok(whole.length > 1000);
    const part = await fetch(seg, { headers: { range: 'bytes=0-187' } });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(0, 188));

    assert.equal((await deleteVideo(u.owner, id)).status, 204);
    assert.deepEqual(await storage.list(`videos/${id}/`), []);
  });
});
