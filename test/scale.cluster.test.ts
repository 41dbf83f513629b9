// Nova scaled out as operators run it: two `nova serve --no-worker` API processes and two
// `nova worker` processes on this machine's real Postgres (a throw-away database) and Redis (a
// unique prefix per run), an s3rver started here, and one upload folder shared by the API nodes.
// Covers tus chunks alternating between nodes (and two nodes contending for one upload), a transcode
// run by exactly one worker with its progress streamed from the other API node, a SIGKILLed worker
// replaced by the other, chat across nodes and across a node's death, and SIGTERM's reconnect hint.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { S3Storage } from '../src/infra/storage/s3.storage.js';
import { NovaClient } from '../src/client/nova-client.js';
import { ChatSocket, type ChatMessage } from '../src/client/chat.client.js';
import { createVideo, getProgress, listJobs, readProgressStream, uploadFile, waitForStatus } from '../src/client/videos.client.js';
import { STAGES } from '../src/videos/progress.bus.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { killLeftovers, spawnNova, type NovaProcess } from './helpers/processes.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { startS3, type TestS3 } from './helpers/s3.js';
import { clip, removeClips, sha256, vodUsers, type VodUsers } from './helpers/vod.js';

const redisUrl = new URL(REDIS_TEST_URL);
const skip = (await postgresSkipReason()) || (await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379)));

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parsed log entries of a process. */
function entries(p: NovaProcess): Array<Record<string, unknown>> {
  return p.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

const TUS = { 'tus-resumable': '1.0.0' };

describe('scale-out: 2 API nodes + 2 workers on Postgres, Redis and S3', { skip }, () => {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `nova-scale-${run}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-scale-'));
  const uploadDir = path.join(tmp, 'shared-uploads');
  const processes: NovaProcess[] = [];
  const dataDirs = new Map<NovaProcess, string>();
  const sockets: ChatSocket[] = [];
  let db: TestDatabase;
  let s3: TestS3;
  let env: Record<string, string>;
  let apiA: NovaProcess;
  let apiB: NovaProcess;
  let workers: NovaProcess[];
  let u: VodUsers;
  let ownerToken: string;

  const spawn = async (name: string, args: string[]): Promise<NovaProcess> => {
    const dataDir = path.join(tmp, name);
    fs.mkdirSync(dataDir, { recursive: true });
    const p = await spawnNova(args, { ...env, DATA_DIR: dataDir }, 90_000);
    processes.push(p);
    dataDirs.set(p, dataDir);
    return p;
  };
  const on = (p: NovaProcess, token: string | null = null) => new NovaClient(p.url!, token);

  before(async () => {
    fs.mkdirSync(uploadDir, { recursive: true });
    fs.mkdirSync(path.join(tmp, 'models'));
    db = await createTestDatabase();
    s3 = await startS3();
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_TEST_URL,
      QUEUE_PREFIX: prefix,
      CHAT_REDIS_PREFIX: `${prefix}:chat:`,
      TRENDING_REDIS_PREFIX: `${prefix}:trending:`,
      ...s3.env,
      // s3rver lacks the ListParts call @tus/s3-store needs: uploads are staged in a folder every API node mounts.
      UPLOAD_STORE: 'file',
      UPLOAD_DIR: uploadDir,
      // A dead worker's job is taken over within seconds.
      JOB_LEASE_SECONDS: '3',
      CHAT_RATE_MESSAGES: '1000',
      // No models to serve: keeps these four processes light on a 2-core machine.
      MODELS_DIR: path.join(tmp, 'models'),
    };
    // The first node migrates the fresh database; the others start together on the migrated one.
    apiA = await spawn('api-a', ['serve', '--no-worker']);
    const [b, w1, w2] = await Promise.all([spawn('api-b', ['serve', '--no-worker']), spawn('worker-1', ['worker', '--concurrency', '1']), spawn('worker-2', ['worker', '--concurrency', '1'])]);
    apiB = b;
    workers = [w1, w2];
    u = await vodUsers(on(apiA));
    ownerToken = u.owner.token!;
  });

  after(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    for (const p of processes) await p.kill('SIGKILL');
    for (const dir of dataDirs.values()) killLeftovers(dir);
    await s3?.stop();
    await db?.drop();
    const r = new Redis(REDIS_TEST_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    fs.rmSync(tmp, { recursive: true, force: true });
    removeClips();
  });

  it('a tus upload alternating between the nodes completes; one worker transcodes it; the other node streams every stage', async () => {
    const file = await clip('scale-240p.mp4', { width: 320, height: 240, seconds: 2 });
    const bytes = fs.readFileSync(file);
    const created = await createVideo(u.owner, { title: 'Across nodes' });
    assert.equal(created.status, 201);
    const id = created.body.video.id;
    const auth = { authorization: `Bearer ${ownerToken}` };

    // Creation on A; the Location is then used on either node.
    const post = await fetch(created.body.upload.url, { method: 'POST', headers: { ...TUS, ...auth, 'upload-length': String(bytes.length) } });
    assert.equal(post.status, 201, await post.text());
    const uploadPath = new URL(post.headers.get('location')!).pathname;
    const uploadFileOnDisk = path.join(uploadDir, `${id}_${uploadPath.split('/').pop()}`);
    const head = async (node: NovaProcess) => {
      const res = await fetch(`${node.url}${uploadPath}`, { method: 'HEAD', headers: { ...TUS, ...auth } });
      assert.equal(res.status, 200);
      return Number(res.headers.get('upload-offset'));
    };
    const patch = async (node: NovaProcess, offset: number, body: Buffer) => {
      const res = await fetch(`${node.url}${uploadPath}`, {
        method: 'PATCH',
        headers: { ...TUS, ...auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        body,
      });
      assert.equal(res.status, 204, `PATCH at ${offset} on ${node.url}: ${res.status} ${await res.text()}`);
      return Number(res.headers.get('upload-offset'));
    };

    // Progress is read from A; the upload ends on B, and a worker reports the stages.
    const events = readProgressStream(on(apiA, ownerToken), id);
    const chunk = Math.ceil(bytes.length / 5);
    let offset = 0;
    offset = await patch(apiA, offset, bytes.subarray(0, chunk));
    assert.equal(await head(apiB), offset);
    offset = await patch(apiB, offset, bytes.subarray(offset, 2 * chunk));
    assert.equal(await head(apiA), offset);

    // Two nodes contend for one upload: A is mid-request (half a chunk sent, the rest held back)
    // when B is asked to write. B's lock asks A to let go; A's request ends with what it stored and
    // B continues from there. Without a lock shared between the nodes, A's request would never end.
    const half = Math.floor(chunk / 2);
    const slow = http.request(`${apiA.url}${uploadPath}`, {
      method: 'PATCH',
      headers: { ...TUS, ...auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    });
    type Outcome = { status?: number; offset?: number; error?: Error };
    const slowDone = new Promise<Outcome>((resolve) => {
      slow.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode, offset: Number(res.headers['upload-offset']) });
      });
      slow.on('error', (error) => resolve({ error }));
    });
    slow.write(bytes.subarray(offset, offset + half));
    await eventually(() => (fs.statSync(uploadFileOnDisk).size === offset + half ? true : undefined), 'A to store the first half');
    offset = await patch(apiB, offset + half, bytes.subarray(offset + half, 3 * chunk));
    let giveUp: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      slowDone,
      new Promise<Outcome>((resolve) => {
        giveUp = setTimeout(() => resolve({ error: new Error('still open 30 s after B wrote: the nodes do not share upload locks') }), 30_000);
      }),
    ]);
    clearTimeout(giveUp);
    slow.destroy();
    assert.equal(first.error, undefined, `A's request failed: ${first.error?.message}`);
    assert.equal(first.status, 204);
    assert.equal(first.offset, 2 * chunk + half, 'A kept exactly what it had received before it let go');
    assert.equal(await head(apiA), 3 * chunk);

    offset = await patch(apiA, offset, bytes.subarray(offset, 4 * chunk));
    offset = await patch(apiB, offset, bytes.subarray(offset));
    assert.equal(offset, bytes.length);

    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 120_000);
    assert.equal(done.status, 'ready', `failed: ${done.error}`);
    assert.equal(done.attempts, 1);
    const seen = await events;
    const stages = seen.map((e) => e.stage).filter((s, i, all): s is string => s !== null && s !== all[i - 1]);
    assert.deepEqual(
      stages,
      STAGES.map(([s]) => s),
      'the other node streamed every stage, in order',
    );
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress >= seen[i - 1].progress, 'progress never goes back');
    assert.equal(seen.at(-1)?.status, 'ready');

    // The source in S3 is the file, byte for byte, whichever node wrote each part.
    const bucket = new S3Storage(loadConfig(s3.env).s3!);
    assert.equal(sha256Of(await bucket.getBuffer(`videos/${id}/source/original`)), sha256(file));

    // Exactly one worker ran it, once.
    const ran = workers.map((w) => entries(w).filter((e) => e.video_id === id && e.msg === 'ladder selected').length);
    assert.deepEqual([...ran].sort(), [0, 1], `runs per worker: ${ran}`);
    const jobs = await listJobs(u.admin);
    assert.equal(jobs.body.queue, 'bullmq');
  });

  it('SIGKILL the worker holding a job mid-transcode: the other worker finishes it', async () => {
    const file = await clip('scale-720p.mp4', { width: 1280, height: 720, seconds: 10, fps: 25 });
    const created = await createVideo(u.owner, { title: 'Survivor' });
    const id = created.body.video.id;
    await uploadFile(u.owner, created.body.upload.url, file);

    const holder = await eventually(
      async () => {
        const p = (await getProgress(u.owner, id)).body;
        assert.notEqual(p.status, 'ready', 'the transcode finished before it could be interrupted; use a longer clip');
        if (p.stage !== 'transcode' || p.progress <= 31) return undefined;
        const job = (await listJobs(u.admin)).body.running.find((j) => j.video_id === id);
        const pid = Number(job?.worker?.split(':')[1]);
        return workers.find((w) => w.child.pid === pid);
      },
      'the transcode to be under way on a worker',
      120_000,
    );
    const survivor = workers.find((w) => w !== holder)!;
    await holder.kill('SIGKILL');
    killLeftovers(dataDirs.get(holder)!);
    assert.equal((await getProgress(u.owner, id)).body.attempts, 1);

    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 150_000);
    assert.equal(done.status, 'ready', `failed: ${done.error}`);
    assert.equal(done.attempts, 2);
    const runs = entries(survivor).filter((e) => e.video_id === id && e.msg === 'ladder selected');
    assert.deepEqual(
      runs.map((e) => e.attempt),
      [2],
      'the surviving worker ran the second attempt',
    );
    workers = [survivor];
  });

  it('SIGTERM the worker holding a job mid-transcode: it exits 0 and hands the job back; the other worker runs it, the attempt not counted', async () => {
    const [fresh, created] = await Promise.all([spawn('worker-3', ['worker']), createVideo(u.owner, { title: 'Handed back' })]);
    workers.push(fresh);
    const id = created.body.video.id;
    await uploadFile(u.owner, created.body.upload.url, await clip('scale-720p.mp4', { width: 1280, height: 720, seconds: 10, fps: 25 }));
    const holder = await eventually(
      async () => {
        const p = (await getProgress(u.owner, id)).body;
        assert.notEqual(p.status, 'ready', 'the transcode finished before it could be interrupted; use a longer clip');
        if (p.stage !== 'transcode' || p.progress <= 31) return undefined;
        const job = (await listJobs(u.admin)).body.running.find((j) => j.video_id === id);
        return workers.find((w) => w.child.pid === Number(job?.worker?.split(':')[1]));
      },
      'the transcode to be under way on a worker',
      120_000,
    );
    const other = workers.find((w) => w !== holder)!;
    assert.equal(await holder.kill('SIGTERM'), 0);
    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 150_000);
    assert.equal(done.status, 'ready', `failed: ${done.error}`);
    assert.equal(done.attempts, 1, 'an attempt handed back on shutdown is not counted');
    assert.deepEqual(
      entries(other)
        .filter((e) => e.video_id === id && e.msg === 'ladder selected')
        .map((e) => e.attempt),
      [1],
    );
    workers = [other];
  });

  it("chat: clients on A and B see each other's messages in one order; when A dies its clients reconnect to B with history intact", async () => {
    const creator = await on(apiA).newUser('creator');
    const res = await creator.client.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'Two nodes' });
    assert.equal(res.status, 201);
    const streamId = res.body.stream.id;
    const open = async (node: NovaProcess, token?: string | null) => {
      const s = await ChatSocket.open(node.url!, streamId, { token });
      sockets.push(s);
      await s.history();
      return s;
    };
    const viewerOnB = await on(apiB).newUser('viewer');
    const watchersA = [await open(apiA), await open(apiA)];
    const watchersB = [await open(apiB), await open(apiB)];
    const senderA = await open(apiA, creator.client.token);
    const senderB = await open(apiB, viewerOnB.client.token);
    for (let i = 0; i < 10; i++) {
      senderA.send(`a${i}`);
      senderB.send(`b${i}`);
    }
    const everyone = [...watchersA, ...watchersB, senderA, senderB];
    await Promise.all(everyone.map((s) => Promise.all([s.message((m) => m.message === 'a9', 30_000), s.message((m) => m.message === 'b9', 30_000)])));
    const order = (list: ChatMessage[]) => list.map((m) => m.message);
    const reference = order(watchersA[0].messages());
    assert.equal(reference.length, 20);
    for (const s of everyone) assert.deepEqual(order(s.messages()), reference, 'every client on both nodes sees one order');

    // A dies without a goodbye; its clients notice and reconnect through B.
    const onA = [...watchersA, senderA];
    await apiA.kill('SIGKILL');
    for (const s of onA) assert.equal((await s.closed).code, 1006);
    const reconnected = await Promise.all(onA.map((s, i) => ChatSocket.open(apiB.url!, streamId, { token: i === onA.length - 1 ? creator.client.token : null })));
    sockets.push(...reconnected);
    // History is ordered by comment_id (creation time on the sending node); messages the two nodes
    // created in the same instant may have been relayed live in another interleaving. Intact means:
    // every message is there, and each sender's messages keep their order.
    const bySender = (list: string[], p: string) => list.filter((m) => m.startsWith(p));
    for (const s of reconnected) {
      const history = order((await s.history()).messages);
      assert.deepEqual([...history].sort(), [...reference].sort(), 'history is intact after the node died');
      for (const p of ['a', 'b']) assert.deepEqual(bySender(history, p), bySender(reference, p), `sender ${p}'s messages keep their order`);
    }
    reconnected.at(-1)!.send('after the failover');
    await Promise.all([...reconnected, ...watchersB, senderB].map((s) => s.message((m) => m.message === 'after the failover', 30_000)));
  });

  it('SIGTERM: an API node exits 0 after telling its WebSocket clients to reconnect (1012); an idle worker exits 0', async () => {
    const onB = sockets.filter((s) => s.ws.url.startsWith(apiB.url!.replace(/^http/, 'ws')) && s.ws.readyState === s.ws.OPEN);
    assert.ok(onB.length >= 4);
    assert.equal(await apiB.kill('SIGTERM'), 0);
    for (const s of onB) {
      const closed = await s.closed;
      assert.equal(closed.code, 1012);
      assert.equal(closed.reason, 'service restart');
    }
    assert.ok(entries(apiB).some((e) => e.msg === 'shutting down' && e.signal === 'SIGTERM'));
    assert.equal(await workers[0].kill('SIGTERM'), 0);
  });
});

function sha256Of(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}
