// Live viewer counts across API processes. Each process keeps its own viewers in a ViewerTracker
// (playlist pollers and chat sockets). With one process that is the whole count. With Redis, each
// process's sweep also writes its viewers into one sorted set per stream (member: viewer id, score:
// when the viewer expires, the later expiry winning). Every process then reads the same total:
//  - a viewer whose polls a load balancer spreads over several processes counts once;
//  - a viewer on another process counts here too.
import type { Redis } from 'ioredis';
import type { ViewerTracker } from './live.viewers.js';

export interface ViewerPresence {
  /**
   * Expires viewers and returns the current total for every stream this process has, or has just
   * had, viewers of, until that total reaches zero.
   */
  sweep(now?: number): Promise<Map<string, number>>;
  /** The current total for one stream. */
  count(streamId: string, now?: number): Promise<number>;
  /** Drops everything known about a stream (it ended). */
  forget(streamId: string): Promise<void>;
  close(): Promise<void>;
}

/** One process: its own viewers are all there are. */
export class LocalViewerPresence implements ViewerPresence {
  constructor(private readonly tracker: ViewerTracker) {}

  async sweep(now = Date.now()): Promise<Map<string, number>> {
    return this.tracker.sweep(now);
  }

  async count(streamId: string, now = Date.now()): Promise<number> {
    return this.tracker.count(streamId, now);
  }

  async forget(streamId: string): Promise<void> {
    this.tracker.forget(streamId);
  }

  async close(): Promise<void> {}
}

/**
 * Several processes sharing viewer presence in Redis sorted sets. Scores are on Redis's clock (each
 * sweep measures this process's offset from it), so processes whose clocks disagree by more than a
 * viewer's lifetime still agree on who has expired. Requires Redis 6.2 or later (ZADD GT).
 */
export class RedisViewerPresence implements ViewerPresence {
  /**
   * Streams whose shared set this process wrote to. A process keeps sweeping them after its own
   * viewers are gone, until the shared total reaches zero, so the stored count never sticks at the
   * last value it wrote.
   */
  private readonly written = new Set<string>();

  /** Redis's clock minus this process's, as last measured. */
  private offsetMs = 0;

  constructor(
    /** A connection of its own whose commands fail fast while Redis is away (closed by close()). */
    private readonly redis: Redis,
    /** Key prefix, e.g. `nova:live-viewers:`. */
    private readonly prefix: string,
    private readonly tracker: ViewerTracker,
    /** How long a shared set outlives its last write (a safety net for processes that died). */
    private readonly keyTtlMs: number,
  ) {}

  private key(streamId: string): string {
    return `${this.prefix}${streamId}`;
  }

  async sweep(now = Date.now()): Promise<Map<string, number>> {
    const local = this.tracker.sweep(now);
    const ids = [...new Set([...local.keys(), ...this.written])];
    if (ids.length === 0) return new Map();
    const [seconds, micros] = await this.redis.time();
    this.offsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - Date.now();
    const shift = this.offsetMs;
    const pipe = this.redis.pipeline();
    // Which reply is each stream's ZCARD: [zadd], zremrangebyscore, zcard, [pexpire] per stream.
    const zcardAt: number[] = [];
    let replies = 0;
    for (const id of ids) {
      const key = this.key(id);
      const active = this.tracker.active(id, now);
      // GT: a viewer seen by several processes keeps the latest expiry any of them reported.
      if (active.length > 0) {
        pipe.zadd(key, 'GT', ...active.flatMap(([viewer, until]) => [until + shift, viewer]));
        replies++;
      }
      pipe.zremrangebyscore(key, '-inf', now + shift);
      pipe.zcard(key);
      zcardAt.push(replies + 1);
      replies += 2;
      if (active.length > 0) {
        pipe.pexpire(key, this.keyTtlMs);
        replies++;
      }
    }
    const results = (await pipe.exec()) ?? [];
    // Any failed command (not only the counts) fails the sweep: a total without this process's
    // own viewers must not be stored.
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    if (results.length !== replies) throw new Error(`Redis answered ${results.length} of ${replies} viewer commands`);
    const totals = new Map<string, number>();
    ids.forEach((id, i) => {
      const total = Number(results[zcardAt[i]][1]);
      totals.set(id, total);
      if (total > 0) this.written.add(id);
      else this.written.delete(id);
    });
    return totals;
  }

  async count(streamId: string, now = Date.now()): Promise<number> {
    return Math.max(this.tracker.count(streamId, now), await this.redis.zcount(this.key(streamId), `(${now + this.offsetMs}`, '+inf'));
  }

  async forget(streamId: string): Promise<void> {
    this.tracker.forget(streamId);
    this.written.delete(streamId);
    await this.redis.del(this.key(streamId));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
