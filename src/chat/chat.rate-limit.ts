// Per-user token buckets for chat sends, in the process that holds the user's sockets (as
// Owncast does per connection): `capacity` messages per `windowMs`, refilled continuously, and a
// sender who runs dry is muted for `muteMs`. Kept in memory because it is checked on every
// message; the shared RateLimiter (fixed windows, possibly in Redis) serves slow mode instead.

export interface BucketOptions {
  capacity: number;
  windowMs: number;
  muteMs: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number; muted: boolean };

interface Bucket {
  tokens: number;
  updatedAt: number;
  mutedUntil: number;
}

export class ChatRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(private readonly opts: BucketOptions) {
    this.refillPerMs = opts.capacity / opts.windowMs;
  }

  /** Spends one token of `key`'s bucket, or says how long to wait. */
  take(key: string, now = Date.now()): TakeResult {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.opts.capacity, updatedAt: now, mutedUntil: 0 };
      this.buckets.set(key, b);
    }
    if (now < b.mutedUntil) return { ok: false, retryAfterMs: b.mutedUntil - now, muted: true };
    b.tokens = Math.min(this.opts.capacity, b.tokens + (now - b.updatedAt) * this.refillPerMs);
    b.updatedAt = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    if (this.opts.muteMs > 0) {
      b.mutedUntil = now + this.opts.muteMs;
      return { ok: false, retryAfterMs: this.opts.muteMs, muted: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / this.refillPerMs), muted: false };
  }

  /** Forgets buckets that are full again and not muted: they behave exactly like new ones. */
  sweep(now = Date.now()): void {
    for (const [key, b] of this.buckets) {
      const full = b.tokens + (now - b.updatedAt) * this.refillPerMs >= this.opts.capacity;
      if (full && now >= b.mutedUntil) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
