// A minimal WebSocket receiver for fan-out benchmarks: the RFC 6455 handshake on a plain TCP socket,
// then a walk over frame headers that counts chat messages without decoding or copying payloads,
// answers pings, and on sampled sockets reads the send time out of the message text.
// Why not `ws`: a `ws` client decodes every frame into its own Buffer and emits an event for it. With
// 2,000 receivers the load generator fell behind before either server (bench:chat, 800 msg/s:
// client event-loop p99 0.9 s while the server was 39 % busy). Measured on this 2-core machine, 500
// sockets, frames of ~250 bytes: 40 frames per read cost 1.07-1.29 µs per frame with `ws` and
// 0.58-0.64 µs with this; 8 per read, 2.39-2.43 against 1.58-1.93 µs. What is left is mostly the
// kernel's read per socket, which no client avoids.
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface FrameCounterOptions {
  /** Text frames whose payload starts with these bytes are counted. */
  prefix: Buffer;
  /** Called once per data chunk with the number of counted frames in it. */
  onCount: (n: number) => void;
  /**
   * Sampled sockets only: called per counted frame with its payload. Every frame is then held until
   * complete, which costs a copy when a frame straddles two reads; the others never wait.
   */
  onPayload?: (buf: Buffer, start: number, end: number) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class FrameCounter {
  private carry: Buffer | null = null;
  /** Payload bytes of the current frame still to skip (it straddled the previous read). */
  private skip = 0;
  private upgraded = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly opts: FrameCounterOptions,
  ) {}

  get open(): boolean {
    return this.upgraded && !this.socket.destroyed;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Connects to a ws:// URL; rejects unless the server answers 101 Switching Protocols. */
  static open(url: string, opts: FrameCounterOptions): Promise<FrameCounter> {
    const u = new URL(url);
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    socket.setNoDelay(true);
    const counter = new FrameCounter(socket, opts);
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        if (counter.upgraded) return counter.frames(chunk);
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf(HEADER_END);
        if (end === -1) return;
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(`websocket upgrade refused: ${status}`));
          return;
        }
        counter.upgraded = true;
        resolve(counter);
        if (end + 4 < head.length) counter.frames(head.subarray(end + 4));
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.on('error', () => {});
      socket.once('close', () => reject(new Error('closed before the upgrade')));
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  /** Walks the server's frames (unmasked, unfragmented, as both servers under test send them). */
  private frames(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let i = 0;
    if (this.skip > 0) {
      const n = Math.min(this.skip, buf.length);
      this.skip -= n;
      i = n;
    }
    const { prefix, onPayload } = this.opts;
    let counted = 0;
    while (i < buf.length) {
      const avail = buf.length - i;
      if (avail < 2) break;
      const opcode = buf[i] & 0x0f;
      let len = buf[i + 1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (avail < 4) break;
        len = buf.readUInt16BE(i + 2);
        hl = 4;
      } else if (len === 127) {
        if (avail < 10) break;
        len = Number(buf.readBigUInt64BE(i + 2));
        hl = 10;
      }
      const start = i + hl;
      const have = buf.length - start;
      // What this frame needs in hand before it can be judged: the prefix, the whole payload of a
      // sampled message or of a control frame (a ping is echoed).
      const control = opcode >= 8;
      const need = control || onPayload ? len : Math.min(len, prefix.length);
      if (have < need) break;
      if (opcode === 1 && len >= prefix.length && buf.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0) {
        counted++;
        onPayload?.(buf, start, start + len);
      } else if (opcode === 9) {
        this.pong(buf.subarray(start, start + len));
      } else if (opcode === 8) {
        this.socket.destroy();
        return;
      }
      if (have >= len) {
        i = start + len;
      } else {
        this.skip = len - have;
        i = buf.length;
      }
    }
    if (i < buf.length) this.carry = Buffer.from(buf.subarray(i));
    if (counted) this.opts.onCount(counted);
  }

  /** A client frame must be masked; a zero mask leaves the payload as it is. */
  private pong(payload: Buffer): void {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | payload.length;
    payload.copy(frame, 6);
    this.socket.write(frame);
  }
}
