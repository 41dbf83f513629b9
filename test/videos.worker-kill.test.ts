// A `nova worker` process SIGKILLed in the middle of a transcode leaves its job with a lease that
// expires; another worker takes the job and the video still becomes ready (attempt 2), with only
// the finished run's outputs left in storage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVideo, getPlayback, getProgress, uploadFile, waitForStatus } from '../src/client/videos.client.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { killLeftovers, spawnNova, type NovaProcess } from './helpers/processes.js';
import { clip, fetchText, removeClips, vodUsers, type VodUsers } from './helpers/vod.js';

describe('videos: a worker killed mid-transcode', () => {
  let t: TestNova;
  let u: VodUsers;
  const workers: NovaProcess[] = [];
  const env = () => ({ DATA_DIR: t.dataDir, JOB_LEASE_SECONDS: '3', LOG_LEVEL: 'info' });
  before(async () => {
    // The API process runs no worker: jobs go to the spawned `nova worker` processes only.
    t = await startTestNova({ JOB_LEASE_SECONDS: '3' }, { api: true, worker: false });
    u = await vodUsers(t.client);
  });
  after(async () => {
    for (const w of workers) await w.kill('SIGKILL');
    killLeftovers(t.dataDir);
    await t.stop();
    removeClips();
  });

  it('is replaced by another worker and the video still reaches ready', async () => {
    const file = await clip('kill-720p.mp4', { width: 1280, height: 720, seconds: 12, fps: 30 });
    const first = await spawnNova(['worker'], env());
    workers.push(first);
    const created = await createVideo(u.owner, { title: 'Survivor' });
    const id = created.body.video.id;
    await uploadFile(u.owner, created.body.upload.url, file);

    // Kill it once ffmpeg is visibly under way.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const p = (await getProgress(u.owner, id)).body;
      assert.notEqual(p.status, 'ready', 'the transcode finished before it could be interrupted; use a longer clip');
      if (p.stage === 'transcode' && p.progress > 31) break;
      assert.ok(Date.now() < deadline, `transcode never started: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await first.kill('SIGKILL');
    const killedAt = (await getProgress(u.owner, id)).body;
    assert.equal(killedAt.status, 'processing');
    assert.equal(killedAt.attempts, 1);

    const second = await spawnNova(['worker'], env());
    workers.push(second);
    const done = await waitForStatus(u.owner, id, ['ready', 'failed'], 180_000);
    assert.equal(done.status, 'ready', `failed: ${done.error}`);
    assert.equal(done.attempts, 2);

    const pb = await getPlayback(u.owner, id);
    assert.equal(pb.status, 200);
    const master = await fetchText(pb.body.manifest_url);
    assert.equal(master.status, 200);
    assert.equal(pb.body.renditions.length, 3);
    // The killed attempt's early outputs are gone: one run remains.
    const keys = await t.nova.container.storage.list(`videos/${id}/r/`);
    assert.equal(new Set(keys.map((k) => k.split('/')[3])).size, 1);
  });
});
