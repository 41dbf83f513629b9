// Upload locks shared by every API node through Redis, so two requests for one tus upload never
// write it at once, even when a load balancer sends them to different nodes. @tus/server ships only
// an in-process MemoryLocker; this keeps its contract: a request that wants a held lock asks the
// holder to let go (the holder's request is cancelled, as tus recommends), then waits for it.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';
import type { Logger } from '../infra/logger.js';

export interface RedisLockerOptions {
  /** Key and channel prefix (the deployment's QUEUE_PREFIX). */
  prefix: string;
  /** A lock lives this long unless its holder renews it, so a node that dies frees its uploads. */
  ttlMs: number;
  /** How long a request waits for a lock before it answers 500 (the client retries). */
  acquireTimeoutMs?: number;
}

/** Deletes the key only while it still holds our token, and tells waiters it is free. */
const UNLOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('publish', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** Extends the key's life only while it still holds our token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0`;

/** Waiting requests re-ask the holder this often, in case a release request was missed. */
const REASK_MS = 1000;
const POLL_MAX_MS = 200;

export class RedisLocker implements Locker {
  /** Locks held by this process: upload id → the holder's token and how to cancel its request. */
  private readonly held = new Map<string, { token: string; release: RequestRelease }>();
  /** Emits an upload id when any node releases its lock. */
  private readonly freed = new EventEmitter();
  private subscriber: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  readonly releaseChannel: string;
  readonly freedChannel: string;
  readonly acquireTimeoutMs: number;

  constructor(
    readonly redis: Redis,
    readonly opts: RedisLockerOptions,
    private readonly logger: Logger,
  ) {
    this.releaseChannel = `${opts.prefix}:upload-lock:release`;
    this.freedChannel = `${opts.prefix}:upload-lock:freed`;
    this.acquireTimeoutMs = opts.acquireTimeoutMs ?? 30_000;
    // Every waiting request listens for its upload id; there may be many at once.
    this.freed.setMaxListeners(0);
  }

  keyOf(id: string): string {
    return `${this.opts.prefix}:upload-lock:${id}`;
  }

  newLock(id: string): Lock {
    void this.listen();
    return new RedisLock(this, id);
  }

  /** One subscriber per process hears release requests (for locks held here) and releases (for waiters here). */
  listen(): Promise<void> {
    if (!this.subscribed) {
      const sub = this.redis.duplicate();
      sub.on('error', () => {});
      sub.on('message', (channel: string, id: string) => {
        if (channel === this.releaseChannel) void this.held.get(id)?.release();
        else if (channel === this.freedChannel) this.freed.emit(id);
      });
      this.subscriber = sub;
      this.subscribed = sub.subscribe(this.releaseChannel, this.freedChannel).then(
        () => undefined,
        (err) => this.logger.warn({ err }, 'upload lock subscription failed; waiting requests fall back to polling'),
      );
    }
    return this.subscribed;
  }

  hold(id: string, token: string, release: RequestRelease): void {
    this.held.set(id, { token, release });
  }

  /** Forgets a lock held here and frees it in Redis, if it still is ours. */
  async release(id: string, token: string): Promise<void> {
    if (this.held.get(id)?.token === token) this.held.delete(id);
    try {
      await this.redis.eval(UNLOCK, 2, this.keyOf(id), this.freedChannel, token, id);
    } catch (err) {
      // The write itself went through; the lock expires on its own after its TTL.
      this.logger.warn({ err, upload_id: id }, 'releasing an upload lock failed');
    }
  }

  /** Resolves when `id` is freed somewhere or after ms, whichever is first. */
  waitFreed(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.freed.off(id, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.freed.on(id, done);
      signal.addEventListener('abort', done);
    });
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = null;
    this.subscribed = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

class RedisLock implements Lock {
  private readonly token = randomBytes(12).toString('hex');
  private renewer: NodeJS.Timeout | null = null;

  constructor(
    private readonly locker: RedisLocker,
    private readonly id: string,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { redis, opts } = this.locker;
    const key = this.locker.keyOf(this.id);
    const deadline = Date.now() + this.locker.acquireTimeoutMs;
    let lastAsk = 0;
    let wait = 5;
    for (;;) {
      // @tus/server's errors are plain { status_code, body } objects, thrown as the server expects them.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (signal.aborted) throw ERRORS.ABORTED;
      if ((await redis.set(key, this.token, 'PX', opts.ttlMs, 'NX')) === 'OK') break;
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      if (Date.now() - lastAsk >= REASK_MS) {
        lastAsk = Date.now();
        await redis.publish(this.locker.releaseChannel, this.id);
      }
      await this.locker.waitFreed(this.id, Math.min(wait, deadline - Date.now()), signal);
      wait = Math.min(wait * 2, POLL_MAX_MS);
    }
    this.locker.hold(this.id, this.token, requestRelease);
    const renew = async () => {
      try {
        const kept = await redis.eval(RENEW, 1, key, this.token, String(opts.ttlMs));
        // Lost (expired while Redis was unreachable): stop writing rather than race a new holder.
        if (kept !== 1) await requestRelease();
      } catch {
        // Redis unreachable: the next renewal tries again before the lock runs out.
      }
    };
    this.renewer = setInterval(() => void renew(), Math.max(100, Math.floor(opts.ttlMs / 3)));
    this.renewer.unref();
  }

  async unlock(): Promise<void> {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = null;
    await this.locker.release(this.id, this.token);
  }
}
