// One upload per video at a time, over real HTTP: a second tus creation for a video terminates and
// removes its earlier upload (also one a PATCH is writing at that moment), creations racing for one
// video leave exactly one upload, a client that lost its upload URL recovers by starting over with
// the standard tus client, deleting the video leaves none of its upload files behind, and an upload
// replaced while it was finishing never becomes the source.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { createVideo, deleteVideo, getProgress, uploadFile } from '../src/client/videos.client.js';
import { startTestNova, vodOf, type TestNova } from './helpers/nova.js';
import { CLIP_DIR, removeClips, sha256, vodUsers, type VodUsers } from './helpers/vod.js';

const ENV = { UPLOAD_MAX_BYTES: String(64 * 1024 * 1024), UPLOAD_EXPIRY_SECONDS: '3600' };
const NO_WORKER = { api: true, worker: false };

function tusHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}`, ...extra };
}

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('uploads: one per video', () => {
  let t: TestNova;
  let u: VodUsers;
  let dir: string;
  before(async () => {
    t = await startTestNova(ENV, NO_WORKER);
    u = await vodUsers(t.client);
    dir = path.join(t.dataDir, 'uploads');
  });
  after(async () => {
    await t.stop();
    removeClips();
  });

  /** Every file of the video's uploads in the upload folder (data files and their `.json`). */
  const filesOf = (videoId: string) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.startsWith(`${videoId}_`))
          .sort()
      : [];
  const idOf = (videoId: string, location: string) => `${videoId}_${location.split('/').pop()}`;
  const recordedUpload = async (videoId: string) => (await t.nova.container.db.kysely.selectFrom('videos').select('upload_id').where('id', '=', videoId).executeTakeFirstOrThrow()).upload_id;

  const create = (url: string, token: string, body?: Buffer, length = 1000) =>
    fetch(url, {
      method: 'POST',
      headers: tusHeaders(token, { 'upload-length': String(length), ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}) }),
      body,
    });

  it('a second creation terminates and removes the first; the first URL is gone', async () => {
    const v = await createVideo(u.owner, { title: 'Twice' });
    const videoId = v.body.video.id;
    const first = await create(v.body.upload.url, u.owner.token!, Buffer.alloc(300, 1));
    assert.equal(first.status, 201);
    const firstUrl = first.headers.get('location')!;
    assert.deepEqual(filesOf(videoId), [idOf(videoId, firstUrl), `${idOf(videoId, firstUrl)}.json`]);

    const second = await create(v.body.upload.url, u.owner.token!, Buffer.alloc(200, 2));
    assert.equal(second.status, 201);
    const secondUrl = second.headers.get('location')!;
    assert.notEqual(secondUrl, firstUrl);
    // Only the second upload is stored, and it is the one the video records.
    assert.deepEqual(filesOf(videoId), [idOf(videoId, secondUrl), `${idOf(videoId, secondUrl)}.json`]);
    assert.equal(await recordedUpload(videoId), idOf(videoId, secondUrl));
    assert.equal((await fetch(firstUrl, { method: 'HEAD', headers: tusHeaders(u.owner.token!) })).status, 404);
    const late = await fetch(firstUrl, {
      method: 'PATCH',
      headers: tusHeaders(u.owner.token!, { 'upload-offset': '300', 'content-type': 'application/offset+octet-stream' }),
      body: Buffer.alloc(100),
    });
    assert.equal(late.status, 404, 'the replaced upload takes no more bytes');
    assert.deepEqual(filesOf(videoId), [idOf(videoId, secondUrl), `${idOf(videoId, secondUrl)}.json`], 'nor is it re-created');
    // The second upload carries on as usual.
    const head = await fetch(secondUrl, { method: 'HEAD', headers: tusHeaders(u.owner.token!) });
    assert.equal(head.headers.get('upload-offset'), '200');

    // Ten more creations: still one upload on disk.
    for (let i = 0; i < 10; i++) assert.equal((await create(v.body.upload.url, u.owner.token!, Buffer.alloc(100))).status, 201);
    assert.equal(filesOf(videoId).length, 2);
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
  });

  it('a creation stops a PATCH that is writing the earlier upload and removes what it wrote', async () => {
    const v = await createVideo(u.owner, { title: 'Busy' });
    const videoId = v.body.video.id;
    const first = await create(v.body.upload.url, u.owner.token!, undefined, 10 * 1024 * 1024);
    const firstUrl = first.headers.get('location')!;
    const firstFile = path.join(dir, idOf(videoId, firstUrl));

    // A PATCH that sends 256 KiB and then keeps its request open, as a slow client would.
    const req = http.request(firstUrl, {
      method: 'PATCH',
      headers: tusHeaders(u.owner.token!, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(10 * 1024 * 1024) }),
    });
    const answered = new Promise<number | string>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => resolve(err.message));
    });
    req.write(randomBytes(256 * 1024));
    await until(() => (fs.existsSync(firstFile) && fs.statSync(firstFile).size === 256 * 1024 ? true : undefined), 'the PATCH to store its first bytes');

    // The creation answers once the PATCH has let go of the earlier upload and that upload is gone.
    const second = await create(v.body.upload.url, u.owner.token!);
    assert.equal(second.status, 201);
    req.destroy();
    await answered;
    const secondUrl = second.headers.get('location')!;
    assert.deepEqual(filesOf(videoId), [idOf(videoId, secondUrl), `${idOf(videoId, secondUrl)}.json`]);
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
  });

  it('creations racing for one video leave exactly one upload, the recorded one', async () => {
    const v = await createVideo(u.owner, { title: 'Race' });
    const videoId = v.body.video.id;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => create(v.body.upload.url, u.owner.token!, Buffer.alloc(64, i))));
    assert.ok(
      answers.every((r) => r.status === 201 || r.status === 409),
      answers.map((r) => r.status).join(','),
    );
    const recorded = await recordedUpload(videoId);
    assert.ok(recorded);
    assert.deepEqual(filesOf(videoId), [recorded, `${recorded}.json`]);
    // Every other URL handed out is gone; the recorded one is live.
    for (const r of answers.filter((a) => a.status === 201)) {
      const url = r.headers.get('location')!;
      const head = await fetch(url, { method: 'HEAD', headers: tusHeaders(u.owner.token!) });
      assert.equal(head.status, idOf(videoId, url) === recorded ? 200 : 404);
    }
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
  });

  it('a client that lost its upload URL starts over with tus-js-client; the file arrives whole', async () => {
    const file = path.join(CLIP_DIR, 'restart-3m.bin');
    fs.writeFileSync(file, randomBytes(3 * 1024 * 1024));
    const v = await createVideo(u.owner, { title: 'Lost URL' });
    const videoId = v.body.video.id;
    // Half of an earlier attempt whose URL the client no longer knows.
    const abandoned = await create(v.body.upload.url, u.owner.token!, fs.readFileSync(file).subarray(0, 1024 * 1024), 3 * 1024 * 1024);
    assert.equal(abandoned.status, 201);

    const url = await uploadFile(u.owner, v.body.upload.url, file, { chunkSize: 1024 * 1024 });
    assert.notEqual(url, abandoned.headers.get('location'));
    assert.equal((await getProgress(u.owner, videoId)).body.status, 'queued');
    assert.equal(sha256(path.join(t.dataDir, 'objects', 'videos', videoId, 'source', 'original')), sha256(file));
    // Only the finished upload is left (it is the source's hard link until the video goes).
    assert.deepEqual(filesOf(videoId), [idOf(videoId, url), `${idOf(videoId, url)}.json`]);
    // Once uploaded, no further creation is accepted.
    assert.equal((await create(v.body.upload.url, u.owner.token!)).status, 409);
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
    fs.rmSync(file);
  });

  const sourceFile = (videoId: string) => path.join(t.dataDir, 'objects', 'videos', videoId, 'source', 'original');
  const statusOf = async (videoId: string) => (await t.nova.container.db.kysely.selectFrom('videos').select('status').where('id', '=', videoId).executeTakeFirstOrThrow()).status;
  const patch = (url: string, offset: number, body: Buffer) =>
    fetch(url, { method: 'PATCH', headers: tusHeaders(u.owner.token!, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }), body });
  const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('an upload replaced before its last PATCH lands is removed with 409; the recorded one becomes the source', async () => {
    const v = await createVideo(u.owner, { title: 'Replaced at the end' });
    const videoId = v.body.video.id;
    const first = await create(v.body.upload.url, u.owner.token!, Buffer.alloc(300, 1), 400);
    assert.equal(first.status, 201);
    // A newer creation has recorded its upload and not yet terminated this one, as when the two
    // requests arrive together.
    await t.nova.container.db.kysely
      .updateTable('videos')
      .set({ upload_id: `${videoId}_${'b'.repeat(32)}` })
      .where('id', '=', videoId)
      .execute();

    const last = await patch(first.headers.get('location')!, 300, Buffer.alloc(100, 1));
    assert.equal(last.status, 409);
    assert.match(last.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(((await last.json()) as { detail: string }).detail, /replaced/);
    assert.equal(await statusOf(videoId), 'waiting_upload');
    assert.deepEqual(filesOf(videoId), [], 'the lost upload is removed');
    assert.equal(fs.existsSync(sourceFile(videoId)), false, 'and left no source behind');

    // The newer upload, sent whole with its creation, is the source.
    const bytes = randomBytes(400);
    const second = await create(v.body.upload.url, u.owner.token!, bytes, 400);
    assert.equal(second.status, 201);
    assert.equal(await statusOf(videoId), 'queued');
    assert.equal(sha256(sourceFile(videoId)), hash(bytes));
    const secondId = idOf(videoId, second.headers.get('location')!);
    assert.equal(await recordedUpload(videoId), secondId);
    assert.deepEqual(filesOf(videoId), [secondId, `${secondId}.json`]);
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
  });

  it('an upload replaced between linking its file and queueing the video does not queue it; the replacement does', async () => {
    const v = await createVideo(u.owner, { title: 'Replaced while finishing' });
    const videoId = v.body.video.id;
    const first = await create(v.body.upload.url, u.owner.token!, Buffer.alloc(300, 1), 400);
    const firstUrl = first.headers.get('location')!;

    // The first upload's finish stops just before it queues the video, until a creation replaced it.
    const videos = vodOf(t.nova).videos;
    const accept = videos.acceptUpload;
    let paused!: () => void;
    const reached = new Promise<void>((resolve) => (paused = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    videos.acceptUpload = (async (...args: Parameters<typeof accept>) => {
      if (args[0] === videoId) {
        paused();
        await resumed;
      }
      return accept.apply(videos, args);
    }) as typeof accept;
    try {
      const finishing = patch(firstUrl, 300, Buffer.alloc(100, 1));
      await reached;
      assert.ok(fs.existsSync(sourceFile(videoId)), 'the finishing upload has linked its file');
      const second = await create(v.body.upload.url, u.owner.token!, undefined, 400);
      assert.equal(second.status, 201);
      const secondUrl = second.headers.get('location')!;
      assert.equal(await recordedUpload(videoId), idOf(videoId, secondUrl));
      resume();

      const last = await finishing;
      assert.equal(last.status, 409);
      assert.match(last.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(await statusOf(videoId), 'waiting_upload');
      assert.equal(fs.existsSync(sourceFile(videoId)), false, "the lost upload's source is removed");
      assert.deepEqual(filesOf(videoId), [idOf(videoId, secondUrl), `${idOf(videoId, secondUrl)}.json`]);

      const bytes = randomBytes(400);
      assert.equal((await patch(secondUrl, 0, bytes)).status, 204);
      assert.equal(await statusOf(videoId), 'queued');
      assert.equal(sha256(sourceFile(videoId)), hash(bytes));
    } finally {
      videos.acceptUpload = accept;
      resume();
    }
    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
  });

  it('deleting a video removes every upload of it in the store, not only the recorded one', async () => {
    const v = await createVideo(u.owner, { title: 'Strays' });
    const videoId = v.body.video.id;
    const live = await create(v.body.upload.url, u.owner.token!, Buffer.alloc(500, 7));
    const id = idOf(videoId, live.headers.get('location')!);
    // Uploads the video no longer records, such as those left by earlier versions: a complete pair,
    // a data file alone and metadata alone.
    const strays = ['a', 'b', 'c'].map((c) => `${videoId}_${c.repeat(32)}`);
    fs.copyFileSync(path.join(dir, id), path.join(dir, strays[0]));
    fs.copyFileSync(path.join(dir, `${id}.json`), path.join(dir, `${strays[0]}.json`));
    fs.copyFileSync(path.join(dir, id), path.join(dir, strays[1]));
    fs.copyFileSync(path.join(dir, `${id}.json`), path.join(dir, `${strays[2]}.json`));
    // Another video's upload is left alone.
    const other = await createVideo(u.owner, { title: 'Neighbour' });
    const kept = await create(other.body.upload.url, u.owner.token!, Buffer.alloc(10));
    assert.equal(filesOf(videoId).length, 6);

    assert.equal((await deleteVideo(u.owner, videoId)).status, 204);
    assert.deepEqual(filesOf(videoId), []);
    const keptId = idOf(other.body.video.id, kept.headers.get('location')!);
    assert.deepEqual(filesOf(other.body.video.id), [keptId, `${keptId}.json`]);
  });
});
