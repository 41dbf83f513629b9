// A raw RTMP client for abuse tests: the handshake, chunk headers and AMF0 commands written byte by
// byte, so a test can send exactly what an attacker would (headers declaring huge messages, idle
// sockets) rather than what a well-behaved encoder library allows.
import fs from 'node:fs';
import net from 'node:net';
import { fetchPlaylist } from '../../src/client/live.client.js';
import type { NovaClient } from '../../src/client/nova-client.js';
import { parseMediaPlaylist } from '../../src/media/live.args.js';

export const HANDSHAKE_SIZE = 1536;

/** A chunk with a type-0 header (full header) on chunk stream `cid`, declaring `length` bytes. */
export function chunkHeader(cid: number, length: number, type: number, streamId = 0): Buffer {
  let basic: Buffer;
  if (cid >= 64 + 256) {
    basic = Buffer.from([1, (cid - 64) & 0xff, ((cid - 64) >> 8) & 0xff]);
  } else if (cid >= 64) {
    basic = Buffer.from([0, cid - 64]);
  } else {
    basic = Buffer.from([cid]);
  }
  const msg = Buffer.alloc(11);
  msg.writeUIntBE(0, 0, 3);
  msg.writeUIntBE(length, 3, 3);
  msg.writeUInt8(type, 6);
  msg.writeUInt32LE(streamId, 7);
  return Buffer.concat([basic, msg]);
}

type Amf = string | number | null | { [key: string]: Amf };

function amf0(v: Amf): Buffer {
  if (v === null) return Buffer.from([0x05]);
  if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = 0x00;
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    const head = Buffer.alloc(3);
    head[0] = 0x02;
    head.writeUInt16BE(s.length, 1);
    return Buffer.concat([head, s]);
  }
  const parts: Buffer[] = [Buffer.from([0x03])];
  for (const [k, val] of Object.entries(v)) {
    const key = Buffer.from(k, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(key.length);
    parts.push(len, key, amf0(val));
  }
  parts.push(Buffer.from([0, 0, 0x09]));
  return Buffer.concat(parts);
}

/** A whole message on chunk stream `cid`, split into chunks of `chunkSize` (continuations get 1-byte type-3 headers). */
export function message(cid: number, type: number, payload: Buffer, streamId = 0, chunkSize = 128): Buffer {
  if (cid >= 64) throw new Error('message() writes one-byte basic headers only');
  const parts = [chunkHeader(cid, payload.length, type, streamId)];
  for (let at = 0; at < payload.length; at += chunkSize) {
    if (at > 0) parts.push(Buffer.from([0xc0 | cid]));
    parts.push(payload.subarray(at, at + chunkSize));
  }
  return Buffer.concat(parts);
}

/** A whole AMF0 command message (type 20) on chunk stream 3, sent as one chunk: it must fit RTMP's default 128-byte chunk size. */
export function command(values: Amf[], streamId = 0): Buffer {
  const payload = Buffer.concat(values.map(amf0));
  if (payload.length > 128) throw new Error('command longer than the default chunk size');
  return Buffer.concat([chunkHeader(3, payload.length, 20, streamId), payload]);
}

export function connectCommand(port: number, app = 'live'): Buffer {
  return command(['connect', 1, { app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` }]);
}

/** Opens a TCP connection (optionally from a given loopback address) and waits until it is up. */
export function openSocket(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Reads exactly `n` bytes (or fails when the socket closes first). */
function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(parts));
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`socket closed after ${got} of ${n} bytes`));
    };
    const cleanup = () => {
      s.off('data', onData);
      s.off('close', onClose);
    };
    s.on('data', onData);
    s.on('close', onClose);
  });
}

/** The simple (digest-less) RTMP handshake: C0+C1, read S0+S1+S2, send C2. */
export async function handshake(s: net.Socket): Promise<void> {
  const c1 = Buffer.alloc(HANDSHAKE_SIZE);
  s.write(Buffer.concat([Buffer.from([3]), c1]));
  const reply = await readBytes(s, 1 + 2 * HANDSHAKE_SIZE);
  s.write(reply.subarray(1, 1 + HANDSHAKE_SIZE));
}

/** Resolves when the socket has closed (either side). */
export function closed(s: net.Socket): Promise<void> {
  if (s.destroyed && s.closed) return Promise.resolve();
  return new Promise((resolve) => s.once('close', () => resolve()));
}

/** Resident and reserved (virtual) memory of a process, in bytes, from /proc/<pid>/status. */
export function processMemory(pid: number): { rss: number; vsz: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), vsz: kb('VmSize') };
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 30_000, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * How far a live stream has got: the last media sequence number listed in its first rendition's
 * playlist (0 while nothing is playable). It grows as long as the encoder's media keeps arriving.
 */
export async function liveProgress(c: NovaClient, playbackUrl: string): Promise<number> {
  const master = await fetchPlaylist(c, playbackUrl);
  if (master.status !== 200) return 0;
  const uri = master.text.split('\n').find((l) => l.trim() && !l.startsWith('#'));
  if (!uri) return 0;
  const media = await fetchPlaylist(c, new URL(uri.trim(), playbackUrl).toString());
  if (media.status !== 200) return 0;
  const info = parseMediaPlaylist(media.text);
  return info.mediaSequence + info.segments.length;
}
