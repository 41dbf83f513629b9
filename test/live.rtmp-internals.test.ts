// Nova drives node-media-server's private protocol files (src/protocol/*) and wraps their allocation
// points to bound what a connection may cost. Those files are no public API, so the version is
// pinned and this test fails loudly when an upgrade changes them; then read the new rtmp.js, check
// guardEngine and RtmpEngine in src/live/live.rtmp.ts against it, and update the digests below.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENGINE_ALLOC_SLACK, guardEngine, MAX_CHUNK_STREAMS, Rtmp, RtmpBudgetExceeded, type RtmpEngine } from '../src/live/live.rtmp.js';
import { chunkHeader, command, connectCommand, HANDSHAKE_SIZE } from './helpers/rtmp.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const PINNED = '4.4.3';
/** SHA-256 of the files Nova loads (directly or through them), as shipped in the pinned version. */
const DIGESTS: Record<string, string> = {
  'src/protocol/rtmp.js': '0e14c79f7c4c8beefcce74fe2103596266f4a2ef9c539d55a8203617ab62d5a5',
  'src/protocol/flv.js': '71c82be59380b3221c48dbf17428de3531bab5af10ba30781949d879927dbdb8',
  'src/protocol/sps_info.js': '94108342ecc1c3738a1ff5c9e604525b539d5da98442960646ab56aaf961ec29',
  'src/protocol/amf.js': 'a864ceaa62b5bb43910910fc52b4181eb39b26a2f62a3c61fe7790f4424a6a3b',
  'src/core/avpacket.js': '80292d3789a44bfce29c2403723ff109a26fc2ceac5e32dcbc159f747fdf0281',
};

/** A fresh engine past the handshake, with its output collected. */
function engineAfterHandshake(): { rtmp: RtmpEngine; out: Buffer[] } {
  const rtmp = new Rtmp();
  const out: Buffer[] = [];
  rtmp.onOutputCallback = (b) => out.push(b);
  assert.equal(rtmp.parserData(Buffer.concat([Buffer.from([3]), Buffer.alloc(HANDSHAKE_SIZE)])), null);
  assert.equal(Buffer.concat(out).length, 1 + 2 * HANDSHAKE_SIZE, 'S0+S1+S2 answered to C0+C1');
  assert.equal(rtmp.parserData(Buffer.alloc(HANDSHAKE_SIZE)), null);
  return { rtmp, out };
}

describe('node-media-server internals that live ingest relies on', () => {
  it(`is pinned to exactly ${PINNED} in package.json, the lock file and node_modules`, () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.dependencies['node-media-server'], PINNED, 'package.json must pin the exact version (no ^ or ~)');
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    assert.equal(lock.packages[''].dependencies['node-media-server'], PINNED);
    assert.equal(lock.packages['node_modules/node-media-server'].version, PINNED);
    const installed = JSON.parse(fs.readFileSync(require.resolve('node-media-server/package.json'), 'utf8'));
    assert.equal(installed.version, PINNED, 'the installed node-media-server is not the pinned one: run npm install');
  });

  it('ships the protocol files unchanged', () => {
    const dir = path.dirname(require.resolve('node-media-server/package.json'));
    for (const [file, digest] of Object.entries(DIGESTS)) {
      const actual = crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(dir, file)))
        .digest('hex');
      assert.equal(actual, digest, `node-media-server ${file} changed: review src/live/live.rtmp.ts (guardEngine, RtmpEngine) against it`);
    }
  });

  it('has the methods and fields Nova calls or wraps', () => {
    const rtmp = new Rtmp() as unknown as Record<string, unknown>;
    for (const m of ['parserData', 'packetParse', 'packetAlloc', 'controlHandler', 'respondPublish', 'sendStatusMessage', 'onPublish', 'onPlay']) {
      assert.equal(typeof rtmp[m], 'function', `Rtmp.${m} is gone`);
    }
    assert.ok(rtmp.inPackets instanceof Map, 'Rtmp.inPackets is no longer a Map');
    assert.equal(rtmp.inChunkSize, 128);
    const packet = rtmp.parserPacket as { header: Record<string, unknown>; capacity: unknown; bytes: unknown; payload: unknown };
    for (const f of ['fmt', 'cid', 'length', 'type', 'stream_id']) assert.equal(typeof packet.header[f], 'number', `RtmpPacket.header.${f}`);
    assert.equal(packet.capacity, 0);
    assert.equal(packet.bytes, 0);
    assert.ok(Buffer.isBuffer(packet.payload));
    const flv = require('node-media-server/src/protocol/flv.js');
    assert.equal(typeof flv.createHeader, 'function');
    assert.equal(typeof flv.createMessage, 'function');
    assert.equal(typeof require('node-media-server/src/protocol/sps_info.js').parseH264Sps, 'function');
  });

  it('unguarded, allocates a buffer of the declared length at the first payload byte (what guardEngine bounds)', () => {
    const { rtmp } = engineAfterHandshake();
    rtmp.parserData(Buffer.concat([chunkHeader(4, 100_000, 8), Buffer.alloc(1)]));
    const p = rtmp.inPackets.get(4);
    assert.ok(p, 'one chunk stream per cid in inPackets');
    assert.equal(p.header.length, 100_000);
    assert.equal(p.capacity, 100_000 + ENGINE_ALLOC_SLACK, 'capacity = declared length + ENGINE_ALLOC_SLACK');
    assert.ok(p.payload.length >= 100_000);
  });

  it('guarded: a header over the budget throws before anything is allocated', () => {
    const { rtmp } = engineAfterHandshake();
    guardEngine(rtmp, () => 64 * 1024);
    assert.throws(() => rtmp.parserData(Buffer.concat([chunkHeader(4, 16 * 1024 * 1024 - 1, 9), Buffer.alloc(1)])), RtmpBudgetExceeded);
    assert.equal(rtmp.inPackets.get(4)?.capacity, 0);
    assert.equal(rtmp.inPackets.get(4)?.payload.length, 0);
  });

  it('guarded: the budget counts every chunk stream together', () => {
    const { rtmp } = engineAfterHandshake();
    guardEngine(rtmp, () => 64 * 1024);
    // The first 128-byte chunk of a 30,000-byte message, then a second message on another stream.
    rtmp.parserData(Buffer.concat([chunkHeader(4, 30_000, 8), Buffer.alloc(128)]));
    assert.equal(rtmp.inPackets.get(4)?.capacity, 30_000 + ENGINE_ALLOC_SLACK);
    assert.throws(() => rtmp.parserData(Buffer.concat([chunkHeader(5, 40_000, 9), Buffer.alloc(1)])), RtmpBudgetExceeded);
  });

  it(`guarded: at most ${MAX_CHUNK_STREAMS} chunk streams`, () => {
    const { rtmp } = engineAfterHandshake();
    guardEngine(rtmp, () => 64 * 1024);
    // Zero-length messages on fresh chunk streams: 2 (control) and 3 (commands) upward.
    const headers = (from: number, n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => chunkHeader(from + i, 0, 18)));
    rtmp.parserData(headers(2, MAX_CHUNK_STREAMS));
    assert.equal(rtmp.inPackets.size, MAX_CHUNK_STREAMS);
    assert.throws(() => rtmp.parserData(headers(2 + MAX_CHUNK_STREAMS, 1)), RtmpBudgetExceeded);
  });

  it('guarded: a chunk size of 0 is refused', () => {
    const { rtmp } = engineAfterHandshake();
    guardEngine(rtmp, () => 64 * 1024);
    const size = Buffer.alloc(4);
    assert.throws(() => rtmp.parserData(Buffer.concat([chunkHeader(2, 4, 1), size])), RtmpBudgetExceeded);
  });

  it('parses connect, createStream and publish into onPublish with the stream name and id', () => {
    const { rtmp, out } = engineAfterHandshake();
    guardEngine(rtmp, () => 64 * 1024);
    const published: string[] = [];
    rtmp.onPublish = (msg) => published.push(msg.streamName);
    out.length = 0;
    rtmp.parserData(connectCommand(1935));
    assert.equal(rtmp.streamApp, 'live');
    assert.ok(out.length > 0, 'connect is answered');
    rtmp.parserData(command(['createStream', 2, null]));
    rtmp.parserData(command(['publish', 3, null, 'the-key?x=1', 'live'], 1));
    assert.deepEqual(published, ['the-key?x=1']);
    assert.equal(rtmp.parserPacket.header.stream_id, 1);
    out.length = 0;
    rtmp.streamId = 1;
    rtmp.sendStatusMessage(1, 'error', 'NetStream.Publish.BadName', 'refused');
    assert.ok(Buffer.concat(out).includes(Buffer.from('NetStream.Publish.BadName')));
  });
});
