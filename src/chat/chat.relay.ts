// Fan-out of chat events to every process serving a stream's sockets, and the recent-history
// cache. In-process when embedded; with REDIS_URL, one pub/sub channel per stream plus a capped
// list per stream, updated in the same MULTI as the publish so list order equals delivery order.
// Every process (the sender's too) delivers what it receives from the channel, so all sockets
// see one order per stream.
import type { Redis } from 'ioredis';
import type { ChatMessage } from './chat.types.js';

export type RelayEvent =
  | { t: 'messages'; messages: ChatMessage[] }
  | { t: 'deleted'; comment_id: string }
  | { t: 'banned'; user_id: string }
  | { t: 'unbanned'; user_id: string }
  | { t: 'settings'; slow_mode_seconds: number }
  | { t: 'closed' };

export type RelayHandler = (event: RelayEvent) => void;

export interface ChatRelay {
  /** After this resolves, every event published for the stream reaches handler, in order. */
  subscribe(streamId: string, handler: RelayHandler): Promise<void>;
  /** Unsubscribes `handler` (a later subscriber of the same stream is left alone). */
  unsubscribe(streamId: string, handler: RelayHandler): Promise<void>;
  publish(streamId: string, event: RelayEvent): Promise<void>;
  /** The last `limit` visible messages, oldest first, or null when the relay cannot vouch for them. */
  recent(streamId: string, limit: number): Promise<ChatMessage[] | null>;
  close(): Promise<void>;
}

export class MemoryChatRelay implements ChatRelay {
  private readonly handlers = new Map<string, RelayHandler>();

  async subscribe(streamId: string, handler: RelayHandler): Promise<void> {
    this.handlers.set(streamId, handler);
  }

  async unsubscribe(streamId: string, handler: RelayHandler): Promise<void> {
    if (this.handlers.get(streamId) === handler) this.handlers.delete(streamId);
  }

  async publish(streamId: string, event: RelayEvent): Promise<void> {
    this.handlers.get(streamId)?.(event);
  }

  async recent(): Promise<ChatMessage[] | null> {
    return null;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

// Removes one message from the capped list and announces the deletion, atomically. The needle
// `"comment_id":"<id>"` cannot occur inside a JSON string value, where quotes are escaped.
const DELETE_SCRIPT = `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for _, v in ipairs(items) do
  if string.find(v, ARGV[1], 1, true) then redis.call('LREM', KEYS[1], 1, v) end
end
return redis.call('PUBLISH', KEYS[2], ARGV[2])
`;

export interface RedisRelayOptions {
  prefix: string;
  /** Messages kept per stream's list. */
  historySize: number;
  /** Lists of quiet chats expire; the database still has every message. */
  historyTtlSeconds: number;
  onError?: (err: unknown) => void;
}

export class RedisChatRelay implements ChatRelay {
  private readonly sub: Redis;
  private readonly handlers = new Map<string, RelayHandler>();
  private readonly channelPrefix: string;

  constructor(
    private readonly pub: Redis,
    private readonly opts: RedisRelayOptions,
  ) {
    this.channelPrefix = `${opts.prefix}ch:`;
    this.sub = pub.duplicate({ connectionName: 'nova-chat-sub' });
    // ioredis reconnects and re-subscribes by itself; an unhandled 'error' would crash the process.
    this.sub.on('error', (err) => opts.onError?.(err));
    this.sub.on('message', (channel: string, payload: string) => {
      const handler = this.handlers.get(channel.slice(this.channelPrefix.length));
      if (!handler) return;
      let event: RelayEvent;
      try {
        event = JSON.parse(payload) as RelayEvent;
      } catch (err) {
        opts.onError?.(err);
        return;
      }
      handler(event);
    });
  }

  private channel(streamId: string): string {
    return this.channelPrefix + streamId;
  }

  private list(streamId: string): string {
    return `${this.opts.prefix}h:${streamId}`;
  }

  async subscribe(streamId: string, handler: RelayHandler): Promise<void> {
    this.handlers.set(streamId, handler);
    await this.sub.subscribe(this.channel(streamId));
  }

  async unsubscribe(streamId: string, handler: RelayHandler): Promise<void> {
    if (this.handlers.get(streamId) !== handler) return;
    this.handlers.delete(streamId);
    await this.sub.unsubscribe(this.channel(streamId));
  }

  async publish(streamId: string, event: RelayEvent): Promise<void> {
    const payload = JSON.stringify(event);
    if (event.t === 'messages') {
      const list = this.list(streamId);
      await this.pub
        .multi()
        .rpush(list, ...event.messages.map((m) => JSON.stringify(m)))
        .ltrim(list, -this.opts.historySize, -1)
        .expire(list, this.opts.historyTtlSeconds)
        .publish(this.channel(streamId), payload)
        .exec();
    } else if (event.t === 'deleted') {
      await this.pub.eval(DELETE_SCRIPT, 2, this.list(streamId), this.channel(streamId), `"comment_id":"${event.comment_id}"`, payload);
    } else {
      await this.pub.publish(this.channel(streamId), payload);
    }
  }

  async recent(streamId: string, limit: number): Promise<ChatMessage[] | null> {
    if (limit > this.opts.historySize) return null;
    const items = await this.pub.lrange(this.list(streamId), 0, -1);
    // A short list may be a cold cache (expired, or Redis restarted), not a short chat.
    if (items.length < limit) return null;
    // The list is in delivery order; history is in comment_id order, as the database has it, so
    // the whole (capped) list is sorted before taking the newest.
    const all = items.map((s) => JSON.parse(s) as ChatMessage).sort((x, y) => (x.comment_id < y.comment_id ? -1 : x.comment_id > y.comment_id ? 1 : 0));
    return all.slice(-limit);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await this.sub.quit().catch(() => this.sub.disconnect());
  }
}
