// tus 1.0.0 uploads over real HTTP with the standard tus-js-client: an upload dropped mid-request
// and resumed after a server restart stores exactly the original bytes; protocol headers and
// extensions (creation, creation-with-upload, termination, expiration); only the owner may write.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createVideo, getProgress, uploadFile, type UploadOptions } from '../src/client/videos.client.js';
import type { UploadsCapability } from '../src/uploads/uploads.routes.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { CLIP_DIR, removeClips, sha256, vodUsers, type VodUsers } from './helpers/vod.js';

const MAX = 64 * 1024 * 1024;
const ENV = { UPLOAD_MAX_BYTES: String(MAX), UPLOAD_EXPIRY_SECONDS: '3600' };
const NO_WORKER = { api: true, worker: false };

function tusHeaders(token: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return { 'tus-resumable': '1.0.0', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

async function until<T>(fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('uploads (tus)', () => {
  let t: TestNova;
  let u: VodUsers;
  before(async () => {
    t = await startTestNova(ENV, NO_WORKER);
    u = await vodUsers(t.client);
  });
  after(async () => {
    await t.stop();
    removeClips();
  });

  it('resumes after a dropped connection and a server restart; the stored source is byte-identical', async () => {
    const file = path.join(CLIP_DIR, 'random-24m.bin');
    fs.writeFileSync(file, randomBytes(24 * 1024 * 1024));
    const created = await createVideo(u.owner, { title: 'Resumable' });
    const videoId = created.body.video.id;

    // One PATCH per 4 MiB; the connection is dropped in the middle of the third request.
    let uploadUrl = '';
    let sent = 0;
    const control: UploadOptions['control'] = {};
    void uploadFile(u.owner, created.body.upload.url, file, {
      chunkSize: 4 * 1024 * 1024,
      retryDelays: null,
      control,
      onUrl: (url) => (uploadUrl = url),
      onProgress: (s) => (sent = s),
    }).catch(() => {});
    await until(() => (sent > 10 * 1024 * 1024 ? true : undefined));
    await control.abort!();
    assert.match(uploadUrl, new RegExp(`/api/v1/uploads/${videoId}/[0-9a-f]{32}$`));

    // Restart on the same data dir and port: the upload URL stays valid.
    const port = new URL(t.url).port;
    await t.stop({ keepData: true });
    t = await startTestNova({ ...ENV, DATA_DIR: t.dataDir, PORT: port }, NO_WORKER);

    const head = await fetch(uploadUrl, { method: 'HEAD', headers: tusHeaders(u.owner.token) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('cache-control'), 'no-store');
    const offset = Number(head.headers.get('upload-offset'));
    assert.equal(Number(head.headers.get('upload-length')), 24 * 1024 * 1024);
    assert.ok(offset > 0 && offset < 24 * 1024 * 1024, `offset ${offset} should be mid-file`);

    let resumedFrom = -1;
    await uploadFile(u.owner, created.body.upload.url, file, {
      resumeUrl: uploadUrl,
      chunkSize: 8 * 1024 * 1024,
      onProgress: (s) => (resumedFrom = resumedFrom < 0 ? s : resumedFrom),
    });
    assert.ok(resumedFrom >= offset, 'the client resumed from the server offset instead of starting over');

    const stored = path.join(t.dataDir, 'objects', 'videos', videoId, 'source', 'original');
    assert.equal(sha256(stored), sha256(file));
    const p = await getProgress(u.owner, videoId);
    assert.equal(p.body.status, 'queued');
    assert.equal(p.body.queue_position, 0);
    const events = await t.nova.container.db.kysely.selectFrom('outbox').select(['event_type', 'payload']).where('event_key', '=', videoId).execute();
    assert.deepEqual(events.map((e) => e.event_type).sort(), ['video.upload.completed', 'video.uploaded']);
    assert.equal(JSON.parse(events[0].payload).size_bytes, 24 * 1024 * 1024);

    // The upload is finished: it can be neither written again nor terminated.
    const again = await fetch(created.body.upload.url, { method: 'POST', headers: tusHeaders(u.owner.token, { 'upload-length': '10' }) });
    assert.equal(again.status, 409);
    const end = await fetch(uploadUrl, { method: 'DELETE', headers: tusHeaders(u.owner.token) });
    assert.equal(end.status, 400);
    fs.rmSync(file);
  });

  it('advertises tus 1.0.0 with its extensions and Tus-Max-Size; refuses larger uploads', async () => {
    const res = await fetch(`${t.url}/api/v1/uploads`, { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('tus-version'), '1.0.0');
    assert.equal(res.headers.get('tus-max-size'), String(MAX));
    const ext = (res.headers.get('tus-extension') ?? '').split(',');
    for (const e of ['creation', 'creation-with-upload', 'termination', 'expiration']) assert.ok(ext.includes(e), `missing ${e}`);

    const v = await createVideo(u.owner, { title: 'Too big' });
    const big = await fetch(v.body.upload.url, { method: 'POST', headers: tusHeaders(u.owner.token, { 'upload-length': String(MAX + 1) }) });
    assert.equal(big.status, 413);
    const noVersion = await fetch(v.body.upload.url, { method: 'POST', headers: { authorization: `Bearer ${u.owner.token}`, 'upload-length': '10' } });
    assert.equal(noVersion.status, 412);
  });

  it('creation-with-upload, offsets, termination', async () => {
    const v = await createVideo(u.owner, { title: 'Small' });
    const post = await fetch(v.body.upload.url, {
      method: 'POST',
      headers: tusHeaders(u.owner.token, { 'upload-length': '10', 'content-type': 'application/offset+octet-stream' }),
      body: Buffer.from('0123'),
    });
    assert.equal(post.status, 201);
    assert.equal(post.headers.get('upload-offset'), '4');
    assert.ok(post.headers.get('upload-expires'), 'expiration is announced');
    const location = post.headers.get('location')!;
    const wrong = await fetch(location, { method: 'PATCH', headers: tusHeaders(u.owner.token, { 'upload-offset': '2', 'content-type': 'application/offset+octet-stream' }), body: Buffer.from('xx') });
    assert.equal(wrong.status, 409);
    const patch = await fetch(location, { method: 'PATCH', headers: tusHeaders(u.owner.token, { 'upload-offset': '4', 'content-type': 'application/offset+octet-stream' }), body: Buffer.from('456') });
    assert.equal(patch.status, 204);
    assert.equal(patch.headers.get('upload-offset'), '7');
    const del = await fetch(location, { method: 'DELETE', headers: tusHeaders(u.owner.token) });
    assert.equal(del.status, 204);
    const gone = await fetch(location, { method: 'HEAD', headers: tusHeaders(u.owner.token) });
    assert.equal(gone.status, 404);
    // The video still waits for its file: a new upload can start.
    assert.equal((await getProgress(u.owner, v.body.video.id)).body.status, 'waiting_upload');
  });

  it('only the owner writes: others, admins and anonymous callers are refused with problem+json', async () => {
    const v = await createVideo(u.owner, { title: 'Mine' });
    const post = await fetch(v.body.upload.url, { method: 'POST', headers: tusHeaders(u.owner.token, { 'upload-length': '100' }) });
    const location = post.headers.get('location')!;
    const patch = (token: string | null) =>
      fetch(location, { method: 'PATCH', headers: tusHeaders(token, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }), body: Buffer.alloc(100) });

    const anon = await fetch(v.body.upload.url, { method: 'POST', headers: tusHeaders(null, { 'upload-length': '100' }) });
    assert.equal(anon.status, 401);
    assert.equal(anon.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await fetch(v.body.upload.url, { method: 'POST', headers: tusHeaders(u.other.token, { 'upload-length': '100' }) })).status, 404);
    assert.equal((await fetch(v.body.upload.url, { method: 'POST', headers: tusHeaders(u.admin.token, { 'upload-length': '100' }) })).status, 403);
    assert.equal((await patch(null)).status, 401);
    assert.equal((await patch(u.other.token)).status, 404);
    const admin = await patch(u.admin.token);
    assert.equal(admin.status, 403);
    assert.match(((await admin.json()) as { detail: string }).detail, /owner/);
    assert.equal((await fetch(location, { method: 'HEAD', headers: tusHeaders(u.other.token) })).status, 404);
    assert.equal((await fetch(location, { method: 'DELETE', headers: tusHeaders(u.admin.token) })).status, 403);
    // Nothing was written by them.
    const head = await fetch(location, { method: 'HEAD', headers: tusHeaders(u.owner.token) });
    assert.equal(head.headers.get('upload-offset'), '0');
    assert.equal((await patch(u.owner.token)).status, 204);
    const p = (await getProgress(u.owner, v.body.video.id)).body;
    assert.equal(p.status, 'queued');
    // No worker runs here: the resumable upload's job waits ahead of this one.
    assert.equal(p.queue_position, 1);
  });

  it('expires unfinished uploads and removes them', async () => {
    const v = await createVideo(u.owner, { title: 'Abandoned' });
    const post = await fetch(v.body.upload.url, {
      method: 'POST',
      headers: tusHeaders(u.owner.token, { 'upload-length': '1000', 'content-type': 'application/offset+octet-stream' }),
      body: Buffer.alloc(200),
    });
    const location = post.headers.get('location')!;
    const key = location.split('/').pop()!;
    const id = `${v.body.video.id}_${key}`;
    const dir = path.join(t.dataDir, 'uploads');
    // Age the upload past its expiry instead of waiting an hour.
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), 'utf8'));
    meta.creation_date = new Date(Date.now() - 2 * 3600 * 1000).toISOString();
    fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(meta));
    const head = await fetch(location, { method: 'HEAD', headers: tusHeaders(u.owner.token) });
    assert.equal(head.status, 410);
    const uploads = t.nova.capabilities.find((c) => c.name === 'uploads') as UploadsCapability;
    assert.ok((await uploads.cleanupExpired()) >= 1);
    assert.equal(fs.existsSync(path.join(dir, id)), false);
    assert.equal(fs.existsSync(path.join(dir, `${id}.json`)), false);
  });
});
