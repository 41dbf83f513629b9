// Fixed-window counters for abuse limits (login attempts, API calls). The memory adapter serves
// one process; the Redis adapter shares counts across nodes (same INCR+PEXPIRE scheme) and, while
// Redis is away, counts in memory instead, so limits still hold per process and no request waits
// on Redis.
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one hit for key and says whether it is within `limit` per `windowSeconds`. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
  /** The hits counted for key in its current window (0 when none), without counting one. */
  peek(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) this.sweep(now);
    }
    w.count += 1;
    return { allowed: w.count <= limit, remaining: Math.max(0, limit - w.count), retryAfterSeconds: (w.resetAt - now) / 1000 };
  }

  async peek(key: string): Promise<number> {
    const w = this.windows.get(key);
    return w && w.resetAt > Date.now() ? w.count : 0;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}

/** How long a hit waits for the first connection to Redis before counting in memory. */
const FIRST_CONNECT_WAIT_MS = 2_000;
/** At most one warning per this long while Redis is away. */
const WARN_EVERY_MS = 60_000;

export class RedisRateLimiter implements RateLimiter {
  private readonly fallback = new MemoryRateLimiter();
  private everReady = false;
  private waitedForFirst = false;
  private warnedAt = 0;

  /**
   * `redis` should be a connection of the limiter's own whose commands fail fast
   * (`enableOfflineQueue: false`, a `commandTimeout`); close() closes it.
   */
  constructor(
    private readonly redis: Redis,
    private readonly logger?: Logger,
    private readonly prefix = 'nova:rl:',
  ) {
    if (redis.status === 'ready') this.everReady = true;
    redis.on('ready', () => {
      this.everReady = true;
    });
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    const k = this.prefix + key;
    try {
      if (!(await this.connected())) throw new Error(`connection is ${this.redis.status}`);
      const res = await this.redis
        .multi()
        .incr(k)
        .pexpire(k, windowSeconds * 1000, 'NX')
        .pttl(k)
        .exec();
      const count = Number(res?.[0]?.[1] ?? 0);
      const ttl = Number(res?.[2]?.[1] ?? windowSeconds * 1000);
      return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSeconds: Math.max(ttl, 0) / 1000 };
    } catch (err) {
      this.warn(err);
      return this.fallback.hit(key, limit, windowSeconds);
    }
  }

  async peek(key: string): Promise<number> {
    try {
      if (!(await this.connected())) throw new Error(`connection is ${this.redis.status}`);
      return Number((await this.redis.get(this.prefix + key)) ?? 0);
    } catch (err) {
      this.warn(err);
      return this.fallback.peek(key);
    }
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    try {
      if (await this.connected()) await this.redis.del(this.prefix + key);
    } catch (err) {
      this.warn(err);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Ready now, or (only while the first connection is being made) ready soon. Once Redis has been
   * up, or the first wait ran out, an outage falls back at once.
   */
  private async connected(): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    if (this.everReady || this.waitedForFirst || this.redis.status === 'end') return false;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => {
        this.waitedForFirst = true;
        done(false);
      }, FIRST_CONNECT_WAIT_MS);
      this.redis.once('ready', onReady);
    });
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger?.warn({ reason: err instanceof Error ? err.message : String(err) }, 'rate limits count in this process only: Redis is unavailable');
  }
}
