// Abuse: 500 idle RTMP connections from one address. The per-address cap holds LIVE_MAX_CONNECTIONS_PER_ADDRESS
// of them and closes the rest at once (before reading a byte), while an encoder from another address
// publishes and goes live. The time to authenticate is set far beyond the test here, so every close
// the test sees comes from the cap, not from that timeout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createStream, getStream, startEncoder, type CreatedLiveStream, type Encoder } from '../../src/client/live.client.js';
import { NovaClient } from '../../src/client/nova-client.js';
import { killLeftovers, spawnNova, type NovaProcess } from '../helpers/processes.js';
import { handshake, liveProgress, openSocket, waitFor } from '../helpers/rtmp.js';
import { currentFfmpegSkipReason } from '../helpers/media.js';

const PER_ADDRESS = 10;
const IDLE = 500;
/** Loopback is a /8: connecting from 127.0.0.2 makes the attacker another address than the encoder (127.0.0.1). */
const ATTACKER = '127.0.0.2';

describe('abuse: 500 idle RTMP connections from one address', { skip: currentFfmpegSkipReason() }, () => {
  let dataDir: string;
  let nova: NovaProcess;
  let client: NovaClient;
  let created: CreatedLiveStream;
  let encoder: Encoder | undefined;
  const sockets: net.Socket[] = [];

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-abuse-idle-'));
    nova = await spawnNova(['serve'], {
      DATA_DIR: dataDir,
      // Live transcoder temp dirs go under the data dir, so nothing is left in the shared temp dir.
      TMPDIR: dataDir,
      LIVE_SEGMENT_SECONDS: '1',
      LIVE_RECORD: 'false',
      LIVE_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      LIVE_AUTH_TIMEOUT_SECONDS: '120',
    });
    client = new NovaClient(nova.url!);
    const creator = (await client.newUser('creator')).client;
    const res = await createStream(creator, 'Crowded ingest');
    assert.equal(res.status, 201);
    created = res.body;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await encoder?.stop();
    await nova?.kill('SIGTERM');
    killLeftovers(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`holds ${PER_ADDRESS} from the address, refuses the rest at once, and a publisher from another address goes live`, async () => {
    const port = Number(new URL(created.rtmp_url.replace(/^rtmp:/, 'http:')).port);
    let closedCount = 0;
    for (let i = 0; i < IDLE; i++) {
      const s = await openSocket(port, ATTACKER);
      s.on('error', () => {});
      s.once('close', () => closedCount++);
      sockets.push(s);
    }
    // Refused connections are closed without waiting for anything: all of them, well within the
    // 120 s an admitted connection would be given.
    await waitFor('the refused connections to be closed', async () => closedCount >= IDLE - PER_ADDRESS, 60_000, 100);
    const open = sockets.filter((s) => !s.destroyed && !s.closed);
    assert.equal(open.length, PER_ADDRESS, 'the first connections of the address are held');
    assert.equal(closedCount, IDLE - PER_ADDRESS);

    encoder = startEncoder(created.rtmp_url, created.stream_key, { width: 320, height: 180, fps: 15 });
    await waitFor('the stream to go live', async () => (await getStream(client, created.stream.id)).body.status === 'live', 60_000);
    await waitFor('live segments', async () => (await liveProgress(client, created.playback_url)) > 0, 60_000);
    assert.equal(encoder.process.exitCode, null, encoder.stderr());

    // The cap still holds with the publisher on: one more from the attacker gets no handshake answer.
    const extra = await openSocket(port, ATTACKER);
    extra.on('error', () => {});
    await assert.rejects(handshake(extra), /socket closed/);
    assert.equal(sockets.filter((s) => !s.destroyed && !s.closed).length, PER_ADDRESS);

    // Closing held connections frees the address's slots: a new one is answered.
    for (const s of open) s.destroy();
    const again = await waitFor('a freed slot', async () => {
      const s = await openSocket(port, ATTACKER);
      s.on('error', () => {});
      sockets.push(s);
      return handshake(s).then(
        () => s,
        () => null,
      );
    });
    assert.ok(!again.destroyed);
    assert.equal((await getStream(client, created.stream.id)).body.status, 'live');
  });
});
