// The budget of one RTMP connection, on the real listener with a stand-in publish decision: the time
// to authenticate, the bytes before an accepted publish, and the message size before and after it
// (a frame too large to announce before the key is checked is fine once the publish is accepted).
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RtmpServer, type AvPacket } from '../src/live/live.rtmp.js';
import { closed, command, connectCommand, handshake, message, openSocket, waitFor } from './helpers/rtmp.js';

const PREAUTH = 64 * 1024;

describe('RTMP connection budget', () => {
  let server: RtmpServer;
  let port: number;
  const packets: AvPacket[] = [];
  const dropped: string[] = [];
  const sockets: net.Socket[] = [];

  before(async () => {
    server = new RtmpServer(async (req) => (req.key === 'good' ? { onPacket: (p) => packets.push({ ...p, data: Buffer.from(p.data) }), onClose: () => {} } : { refused: 'no' }), {
      authTimeoutSeconds: 1,
      maxConnections: 50,
      maxConnectionsPerAddress: 20,
      preauthMaxBytes: PREAUTH,
      maxMessageBytes: 1024 * 1024,
      onError: (err) => assert.fail(String(err)),
      onDropped: (reason) => dropped.push(reason),
    });
    port = await server.listen(0, '127.0.0.1');
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await server.close();
  });

  async function connected(): Promise<net.Socket> {
    const s = await openSocket(port);
    s.on('error', () => {});
    sockets.push(s);
    return s;
  }

  /** Handshake, connect, createStream, publish: resolves with everything received once "Publish.Start" arrived. */
  async function publish(s: net.Socket, key: string): Promise<void> {
    await handshake(s);
    let got = Buffer.alloc(0);
    const started = new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.includes(Buffer.from('NetStream.Publish.Start'))) resolve();
      });
      s.once('close', () => reject(new Error('closed before the publish was accepted')));
    });
    s.write(Buffer.concat([connectCommand(port), command(['createStream', 2, null]), command(['publish', 3, null, key, 'live'], 1)]));
    await started;
  }

  it('drops a connection that has not published when the time to authenticate is up', async () => {
    const s = await connected();
    await handshake(s);
    await closed(s);
    assert.ok(dropped.includes('no accepted publish in time'));
  });

  it('drops a connection that sends more than the pre-publish byte budget', async () => {
    const s = await connected();
    await handshake(s);
    // Zeros parse as empty messages on chunk stream 64: harmless, but they count.
    s.write(Buffer.alloc(PREAUTH + 1024));
    await closed(s);
    assert.ok(dropped.includes('too many bytes before an accepted publish'));
  });

  it('refuses a 200 KB message before the publish is accepted, and takes it after', async () => {
    const video = Buffer.alloc(200 * 1024, 0x27);
    video[0] = 0x17; // keyframe, AVC
    video[1] = 1; // NALU
    const early = await connected();
    await handshake(early);
    // The header and first chunk only: the declared size alone must be refused, not the bytes sent.
    early.write(Buffer.concat([connectCommand(port), message(6, 9, video, 1).subarray(0, 12 + 128)]));
    await closed(early);
    assert.ok(
      dropped.some((r) => /buffer budget/.test(r)),
      dropped.join('; '),
    );

    const s = await connected();
    await publish(s, 'good');
    s.write(message(6, 9, video, 1));
    const p = await waitFor('the frame', async () => packets.find((x) => x.size === video.length), 10_000, 20);
    assert.equal(p.codec_type, 9);
    assert.ok(!s.destroyed, 'an accepted publisher keeps its connection');
  });
});
