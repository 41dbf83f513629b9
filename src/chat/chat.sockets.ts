// The sockets of this process: one connection wrapper per client, one room per stream that
// coalesces outgoing frames per tick, and the heartbeat that reaps dead peers. Transport only:
// what to send and who may send is chat.service's business.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { AuthUser } from '../accounts/accounts.service.js';

export interface ConnectionHooks {
  /** The peer stopped reading and its unsent bytes passed the cap. */
  onSlow(conn: ChatConnection): void;
}

export class ChatConnection {
  /** Cleared at each ping, set again by the pong (or any frame); still clear at the next ping = dead. */
  alive = true;
  /** Frames of one client are handled one after another, so its messages keep their order. */
  queue: Promise<void> = Promise.resolve();
  /** Set while the connection holds a reference on its stream's room. */
  joined = false;
  /** Set while the connection counts as a viewer of its stream (never for the stream's creator). */
  counted = false;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    /** The TCP socket under `ws`: shared pre-built frames are written to it directly. */
    private readonly raw: Socket,
    readonly user: AuthUser | null,
    readonly badToken: boolean,
    readonly viewerId: string,
    private readonly maxBufferedBytes: number,
    private readonly hooks: ConnectionHooks,
  ) {
    ws.on('pong', () => {
      this.alive = true;
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Writes complete frames. `ws` writes its own frames (pings, close) synchronously to the same
   * socket and compression is off, so frames never interleave. A peer that does not read lets
   * bytes pile up in the socket; past the cap it is dropped rather than grow memory.
   */
  write(frames: Buffer): void {
    if (!this.open) return;
    if (this.raw.writableLength > this.maxBufferedBytes) {
      this.hooks.onSlow(this);
      this.ws.terminate();
      return;
    }
    this.raw.write(frames);
  }

  close(code: number, reason: string): void {
    if (this.open) this.ws.close(code, reason);
  }
}

/**
 * A stream's sockets in this process. Outgoing frames are coalesced: a room writes to its sockets
 * at most once per `minGapMs`. A quiet room flushes on the next tick (no added latency); a busy one
 * gathers what arrives within the gap into one write per socket, so the syscall count per socket
 * stays bounded however fast messages come.
 */
export class SocketRoom {
  readonly members = new Set<ChatConnection>();
  private pending: Buffer[] = [];
  private scheduled = false;
  private lastFlush = 0;

  constructor(private readonly minGapMs: number) {}

  /** Adds a socket after sending it `first` (its history), with everything queued before it flushed. */
  add(conn: ChatConnection, first: Buffer): void {
    this.flush();
    conn.write(first);
    this.members.add(conn);
  }

  remove(conn: ChatConnection): void {
    this.members.delete(conn);
  }

  get size(): number {
    return this.members.size;
  }

  /** Queues a frame for every member; frames queued before the next flush go out as one write per socket. */
  broadcast(frame: Buffer): void {
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    const wait = this.lastFlush + this.minGapMs - performance.now();
    if (wait > 1) setTimeout(run, wait);
    else setImmediate(run);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.lastFlush = performance.now();
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    for (const conn of this.members) conn.write(out);
  }

  /** Sends to the sockets of one user, after what is already queued for everyone. */
  toUser(userId: string, frame: Buffer): void {
    this.flush();
    for (const conn of this.members) if (conn.user?.id === userId) conn.write(frame);
  }

  /** Sends a last frame to every socket and closes them. */
  closeAll(last: Buffer, code: number, reason: string): void {
    this.flush();
    for (const conn of this.members) {
      conn.write(last);
      conn.close(code, reason);
    }
  }
}

/** Pings every socket each interval; a socket that did not answer the previous ping is terminated. */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sockets: Set<ChatConnection>,
    private readonly onReap: (conn: ChatConnection) => void,
  ) {}

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  beat(): void {
    for (const conn of this.sockets) {
      if (!conn.alive) {
        this.onReap(conn);
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
