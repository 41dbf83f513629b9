// Abuse: RTMP chunk headers declaring 16 MiB messages before any stream key is checked. Unbounded,
// each header reserves a 16 MiB buffer (1,000 of them ≈ 140 KB on the wire reserve ~16 GB). Nova runs
// as its own process so its memory can be read from /proc while a real encoder publishes beside the
// attack; the bound is a budget per unauthenticated connection (docs/live.md, "What an attacker can cost").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStream, getStream, startEncoder, type CreatedLiveStream, type Encoder } from '../../src/client/live.client.js';
import { NovaClient } from '../../src/client/nova-client.js';
import { killLeftovers, spawnNova, type NovaProcess } from '../helpers/processes.js';
import { chunkHeader, closed, connectCommand, handshake, liveProgress, openSocket, processMemory, waitFor } from '../helpers/rtmp.js';
import { currentFfmpegSkipReason } from '../helpers/media.js';

const MiB = 1024 * 1024;
const HEADERS = 1000;
/** The attack repeated over this many connections, one after another, so freed memory must really come back. */
const ROUNDS = 5;

/** Handshake, connect, then 1,000 chunk streams each declaring a 16 MiB video message with its first 128-byte chunk. */
async function flood(port: number): Promise<void> {
  const s = await openSocket(port);
  s.on('error', () => {}); // Nova drops the connection mid-write: EPIPE/ECONNRESET are the expected outcome.
  await handshake(s);
  s.write(connectCommand(port));
  const frames: Buffer[] = [];
  for (let i = 0; i < HEADERS; i++) frames.push(chunkHeader(4 + i, 16 * MiB - 1, 9, 1), Buffer.alloc(128, 0x17));
  s.write(Buffer.concat(frames));
  // Nova must drop it (the test's own timeout is the failure mode if it does not).
  await closed(s);
}

describe('abuse: RTMP flood of 16 MiB message headers before authentication', { skip: currentFfmpegSkipReason() }, () => {
  let dataDir: string;
  let nova: NovaProcess;
  let client: NovaClient;
  let created: CreatedLiveStream;
  let encoder: Encoder;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-abuse-rtmp-'));
    nova = await spawnNova(['serve'], {
      DATA_DIR: dataDir,
      // Live transcoder temp dirs go under the data dir, so nothing is left in the shared temp dir.
      TMPDIR: dataDir,
      LIVE_SEGMENT_SECONDS: '1',
      LIVE_RECORD: 'false',
    });
    client = new NovaClient(nova.url!);
    const creator = (await client.newUser('creator')).client;
    const res = await createStream(creator, 'Under attack');
    assert.equal(res.status, 201);
    created = res.body;
    encoder = startEncoder(created.rtmp_url, created.stream_key, { width: 320, height: 180, fps: 15 });
    await waitFor('the stream to go live', async () => (await getStream(client, created.stream.id)).body.status === 'live', 60_000);
    await waitFor('the live playlist', async () => (await liveProgress(client, created.playback_url)) > 0, 60_000);
  });
  after(async () => {
    await encoder?.stop();
    await nova?.kill('SIGTERM');
    killLeftovers(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps resident growth < 64 MB and reserved < 512 MB during and 10 s after, while the encoder stays live', async () => {
    const pid = nova.child.pid!;
    const port = Number(new URL(created.rtmp_url.replace(/^rtmp:/, 'http:')).port);
    const base = processMemory(pid);
    const samples = [base];
    const sampler = setInterval(() => samples.push(processMemory(pid)), 100);
    const progressBefore = await liveProgress(client, created.playback_url);
    try {
      for (let i = 0; i < ROUNDS; i++) await flood(port);
      await new Promise((r) => setTimeout(r, 10_000));
    } finally {
      clearInterval(sampler);
    }
    samples.push(processMemory(pid));
    const rssGrowth = Math.max(...samples.map((m) => m.rss)) - base.rss;
    const vszGrowth = Math.max(...samples.map((m) => m.vsz)) - base.vsz;
    console.log(`RSS growth ${(rssGrowth / MiB).toFixed(1)} MiB, VSZ growth ${(vszGrowth / MiB).toFixed(1)} MiB over ${samples.length} samples`);
    assert.ok(rssGrowth < 64 * 1000 * 1000, `resident memory grew by ${(rssGrowth / MiB).toFixed(1)} MiB`);
    assert.ok(vszGrowth < 512 * 1000 * 1000, `reserved memory grew by ${(vszGrowth / MiB).toFixed(1)} MiB`);

    assert.equal(encoder.process.exitCode, null, `the encoder is still publishing: ${encoder.stderr()}`);
    assert.equal((await getStream(client, created.stream.id)).body.status, 'live');
    // Media kept flowing: new segments were listed after the attack.
    const progressAfter = await waitFor('new live segments', async () => {
      const p = await liveProgress(client, created.playback_url);
      return p > progressBefore + 3 ? p : null;
    });
    assert.ok(progressAfter > progressBefore);
    const dropped = nova.logs.filter((l) => l.includes('rtmp connection dropped')).length;
    assert.equal(dropped, ROUNDS, 'each flooding connection was dropped for its budget');
  });
});
