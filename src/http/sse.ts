// Server-Sent Events plumbing shared by every streaming route (video progress, trending): caps on
// open streams per process and per client address, heartbeats that keep proxies from closing a
// quiet stream, the client's Last-Event-ID, and back-pressure (a client that does not read is
// disconnected instead of having its events buffered without bound). `StreamHub` ties these together
// for one family of streams, and ends them all when the server closes.
// Our own rather than @fastify/sse (0.x): that plugin waits for a slow reader to drain instead of
// dropping it, and has no per-address or per-process caps, which are the parts we need most.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from './address.js';
import { RateLimitedError } from './errors.js';

export interface SlotLimits {
  /** Streams open at once in this process. */
  maxTotal: number;
  /** Streams open at once from one client address (IPv6: its /64). */
  maxPerAddress: number;
}

/**
 * Counts long-lived connections per process and per address. `acquire` either reserves a slot or
 * throws 429 problem+json; the slot is freed by the returned function (idempotent).
 */
export class StreamSlots {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly what: string,
    private readonly limits: SlotLimits,
  ) {}

  acquire(ip: string): () => void {
    const key = addressKey(ip);
    const mine = this.perAddress.get(key) ?? 0;
    if (mine >= this.limits.maxPerAddress) {
      throw new RateLimitedError(`Too many open ${this.what} from your address (at most ${this.limits.maxPerAddress}); close one first.`, 5);
    }
    if (this.total >= this.limits.maxTotal) throw new RateLimitedError(`Too many open ${this.what} on this server; try again later.`, 5);
    this.total++;
    this.perAddress.set(key, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(key);
      else this.perAddress.set(key, left);
    };
  }

  /** Streams open now, in all and from one address. */
  open(ip?: string): number {
    return ip === undefined ? this.total : (this.perAddress.get(addressKey(ip)) ?? 0);
  }
}

export interface SseOptions {
  heartbeatMs: number;
  /** Unsent bytes above this close the stream. */
  maxBufferedBytes: number;
  /** A comment sent first, so clients and proxies see the stream open at once. */
  hello?: string;
}

export interface SseStream {
  /** The Last-Event-ID the client reconnected with, if any (at most 128 characters). */
  readonly lastEventId: string | undefined;
  readonly closed: boolean;
  /** Writes one event; false once the stream is closed (or was just closed for back-pressure). */
  send(event: string, data: string, id?: string | number): boolean;
  /** Ends the stream (the client may reconnect). */
  close(): void;
  /** Runs once when the stream ends, from either side. */
  onClose(fn: () => void): void;
}

/** Takes over the reply and opens an event stream on it. */
export function openSse(req: FastifyRequest, reply: FastifyReply, opts: SseOptions): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(req.id),
  });
  const given = req.headers['last-event-id'];
  const lastEventId = typeof given === 'string' && given.length <= 128 ? given : undefined;
  const closers: Array<() => void> = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (!res.writableEnded) res.end();
    for (const fn of closers.splice(0)) fn();
  };
  const write = (text: string): boolean => {
    if (closed) return false;
    // A reader this far behind is not reading: drop it rather than hold its backlog in memory.
    if (res.writableLength > opts.maxBufferedBytes) {
      close();
      res.destroy();
      return false;
    }
    res.write(text);
    return true;
  };
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), opts.heartbeatMs);
  res.on('close', close);
  if (opts.hello) write(`: ${opts.hello}\n\n`);
  return {
    lastEventId,
    get closed() {
      return closed;
    },
    send(event, data, id) {
      // Data lines cannot hold a newline: JSON never has a raw one, but split to be safe.
      const lines = data
        .split('\n')
        .map((l) => `data: ${l}`)
        .join('\n');
      return write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${lines}\n\n`);
    },
    close,
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}

/**
 * The open streams of one family (every progress stream, SSE and WebSocket; every trending stream):
 * their slots, and ending them all when the server closes, so shutdown does not wait for them.
 */
export class StreamHub {
  readonly slots: StreamSlots;
  private readonly ends = new Set<() => void>();

  constructor(
    what: string,
    limits: SlotLimits,
    private readonly sse: SseOptions,
  ) {
    this.slots = new StreamSlots(what, limits);
  }

  /** Remembers how to end a stream at shutdown; returns the function that forgets it. */
  track(end: () => void): () => void {
    this.ends.add(end);
    return () => void this.ends.delete(end);
  }

  /** Ends every open stream (from the app's preClose hook). */
  closeAll(): void {
    for (const end of [...this.ends]) end();
  }

  /**
   * Opens an event stream in the slot `release` frees (from `slots.acquire`, taken before any
   * slow work so a full cap answers 429 at once). When the stream ends, from either side, its
   * slot is freed and it is forgotten.
   */
  openSse(req: FastifyRequest, reply: FastifyReply, release: () => void, hello?: string): SseStream {
    let stream: SseStream;
    try {
      stream = openSse(req, reply, hello === undefined ? this.sse : { ...this.sse, hello });
    } catch (err) {
      release();
      throw err;
    }
    const forget = this.track(() => stream.close());
    stream.onClose(() => {
      forget();
      release();
    });
    return stream;
  }
}
