// Tells every node's session cache that a token or a user's tokens stopped working. Alone, a node
// drops its own entries; with REDIS_URL it also publishes on `<QUEUE_PREFIX>:sessions-revoked`, and
// caches nothing while its subscription to that channel is down (it could miss a revocation then).
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { Revocation, SessionCache } from './sessions.cache.js';

export interface SessionRevocations {
  /** Drops the entries on this node, then (with Redis) on the others. */
  revoke(r: Revocation): Promise<void>;
  close(): Promise<void>;
}

export class LocalSessionRevocations implements SessionRevocations {
  constructor(private readonly cache: SessionCache) {}

  async revoke(r: Revocation): Promise<void> {
    this.cache.revoke(r);
  }

  async close(): Promise<void> {}
}

export class RedisSessionRevocations implements SessionRevocations {
  private readonly channel: string;
  private readonly subscriber: Redis;

  constructor(
    private readonly cache: SessionCache,
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}:sessions-revoked`;
    cache.setLive(false);
    const sub = redis.duplicate();
    this.subscriber = sub;
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const r = parse(message);
      // A message we cannot read may still have been a revocation: forget everything.
      if (r) cache.revoke(r);
      else cache.clear();
    });
    // Until (re)subscribed, revocations could be missed: cache nothing.
    for (const event of ['close', 'reconnecting', 'end']) sub.on(event, () => cache.setLive(false));
    sub.on('ready', () => {
      sub.subscribe(this.channel).then(
        () => cache.setLive(sub.status === 'ready'),
        (err: unknown) => this.logger.warn({ err }, 'session revocation subscribe failed'),
      );
    });
  }

  async revoke(r: Revocation): Promise<void> {
    this.cache.revoke(r);
    try {
      await this.redis.publish(this.channel, JSON.stringify(r));
    } catch (err) {
      // Other nodes then keep their entry until it expires (SESSION_CACHE_SECONDS at most).
      this.logger.warn({ err }, 'session revocation publish failed');
    }
  }

  async close(): Promise<void> {
    this.cache.setLive(false);
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

function parse(message: string): Revocation | null {
  try {
    const m = JSON.parse(message) as Record<string, unknown>;
    if (typeof m.token_hash === 'string') return { token_hash: m.token_hash };
    if (typeof m.user_id === 'string') return { user_id: m.user_id };
  } catch {
    // Not JSON.
  }
  return null;
}
