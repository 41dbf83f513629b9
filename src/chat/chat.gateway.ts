// The WebSocket side of live chat: takes over upgraded sockets, keeps one room per stream in this
// process (its bans, slow mode and recent history, mirrored from the relay), checks each send
// (validation, auth, bans, token bucket, slow mode), hands accepted messages to the per-stream
// writer, and fans what the relay delivers out to the room's sockets.
import type { Socket } from 'node:net';
import { v7 as uuidv7 } from 'uuid';
import type { WebSocket } from 'ws';
import type { AuthUser } from '../accounts/accounts.service.js';
import type { ChatConfig } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import { eventFrame, historyFrame, messageEvent } from './chat.frames.js';
import type { ChatMetrics } from './chat.metrics.js';
import { ChatRateLimiter } from './chat.rate-limit.js';
import type { ChatRelay, RelayEvent, RelayHandler } from './chat.relay.js';
import type { ChatRepository } from './chat.repository.js';
import { ChatConnection, Heartbeat, SocketRoom } from './chat.sockets.js';
import { cleanText, parseClientFrame } from './chat.text.js';
import type { ChatErrorCode, ChatMessage, ChatStream, ChatStreamsPort } from './chat.types.js';
import { MessageWriter } from './chat.writer.js';

/** One stream's chat as this process sees it. */
interface StreamChat {
  streamId: string;
  creatorId: string;
  closed: boolean;
  room: SocketRoom;
  /** Sockets holding the room (joined or joining); the room is dropped at zero. */
  refs: number;
  ready: Promise<void>;
  loaded: boolean;
  /** Relay events that arrived while the room was loading, applied once it has. */
  early: RelayEvent[];
  bans: Set<string>;
  slowModeSeconds: number;
  /** Recent visible messages, oldest first; more than one history's worth so deletions do not leave it short. */
  recent: ChatMessage[];
  historyFrame: Buffer | null;
  handler: RelayHandler;
}

export interface ChatGatewayDeps {
  repo: ChatRepository;
  relay: ChatRelay;
  streams: ChatStreamsPort;
  /** Fixed windows (shared through Redis when configured), for slow mode. */
  limiter: RateLimiter;
  config: ChatConfig;
  logger: Logger;
  metrics: ChatMetrics;
}

export function isModerator(user: AuthUser, creatorId: string): boolean {
  return user.role === 'admin' || user.id === creatorId;
}

export function errorFrame(code: ChatErrorCode, detail: string, extra: Record<string, unknown> = {}): Buffer {
  return eventFrame({ event_type: 'chat.error', code, detail, ...extra });
}

export class ChatGateway {
  private readonly rooms = new Map<string, StreamChat>();
  private readonly membership = new Map<ChatConnection, StreamChat>();
  private readonly writers = new Map<string, MessageWriter>();
  private readonly sockets = new Set<ChatConnection>();
  /** Each socket's client address, for the viewer count. */
  private readonly addressOf = new Map<ChatConnection, string>();
  /** Slots held per client address (CHAT_MAX_SOCKETS_PER_ADDRESS): sockets open or being opened. */
  private readonly perAddress = new Map<string, number>();
  /** Slots held in all (CHAT_MAX_SOCKETS): sockets open or being opened. */
  private slotsHeld = 0;
  private readonly buckets: ChatRateLimiter;
  private readonly heartbeat: Heartbeat;
  private readonly keep: number;
  private readonly maxFrameBytes: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly d: ChatGatewayDeps) {
    const cfg = d.config;
    this.buckets = new ChatRateLimiter({ capacity: cfg.rateMessages, windowMs: cfg.rateWindowSeconds * 1000, muteMs: cfg.muteSeconds * 1000 });
    this.heartbeat = new Heartbeat(this.sockets, () => d.metrics.dropped.inc({ reason: 'dead' }));
    this.keep = cfg.historySize * 2;
    // Worst case a character is a JSON \uXXXX surrogate pair: 12 bytes.
    this.maxFrameBytes = cfg.maxMessageChars * 12 + 256;
  }

  start(): void {
    const everyMs = this.d.config.pingIntervalSeconds * 1000;
    this.heartbeat.start(everyMs);
    this.sweeper ??= setInterval(() => void this.sweep().catch((err) => this.d.logger.warn({ err }, 'chat sweep failed')), everyMs).unref();
  }

  /**
   * Drops idle token buckets, and closes rooms whose stream has ended without the end reaching
   * this process (the end hook fires only where the stream was ended, and not for every path).
   */
  private async sweep(): Promise<void> {
    this.buckets.sweep();
    for (const chat of [...this.rooms.values()]) {
      if (!chat.loaded || chat.closed) continue;
      const stream = await this.d.streams.getStream(chat.streamId);
      if ((!stream || stream.status === 'ended') && !chat.closed) this.apply(chat, { t: 'closed' }, false);
    }
  }

  async stop(): Promise<void> {
    this.heartbeat.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    for (const conn of this.sockets) conn.ws.terminate();
    await Promise.all([...this.writers.values()].map((w) => w.idle()));
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  /**
   * Takes a slot for a socket from `address`: one of the process's CHAT_MAX_SOCKETS and one of the
   * address's CHAT_MAX_SOCKETS_PER_ADDRESS. Returns which limit is full instead when one is. Check
   * and count are one synchronous step, so parallel upgrades cannot all pass the check before any
   * is counted. The slot is held until the returned release is called (the caller ties it to the
   * connection's end, whether or not it became a socket); calling it again does nothing.
   */
  reserveSlot(address: string): (() => void) | 'server' | 'address' {
    if (this.slotsHeld >= this.d.config.maxSocketsPerProcess) return 'server';
    const max = this.d.config.maxSocketsPerAddress;
    const held = this.perAddress.get(address) ?? 0;
    if (max > 0 && held >= max) return 'address';
    this.perAddress.set(address, held + 1);
    this.slotsHeld++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.slotsHeld--;
      const n = (this.perAddress.get(address) ?? 0) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    };
  }

  /** Takes over an upgraded socket for `stream`; `address` is the client's, for the viewer count's per-address limit. */
  attach(ws: WebSocket, raw: Socket, stream: ChatStream, user: AuthUser | null, badToken: boolean, viewerHint?: string, address: string | null = null): void {
    const id = uuidv7();
    const conn = new ChatConnection(id, ws, raw, user, badToken, viewerHint ?? user?.id ?? `chat:${id}`, this.d.config.maxBufferedBytes, {
      onSlow: () => this.d.metrics.dropped.inc({ reason: 'slow' }),
    });
    this.sockets.add(conn);
    if (address !== null) this.addressOf.set(conn, address);
    this.d.metrics.sockets.inc();
    ws.on('close', () => this.detach(conn));
    ws.on('message', (data, isBinary) => {
      conn.alive = true;
      conn.queue = conn.queue.then(() => this.onFrame(conn, data as Buffer, isBinary)).catch((err) => this.d.logger.warn({ err }, 'chat frame failed'));
    });
    conn.queue = this.join(conn, stream).catch((err) => {
      this.d.logger.warn({ err, stream_id: stream.id }, 'chat join failed');
      conn.write(errorFrame('unavailable', 'The chat could not be loaded; reconnect in a moment.'));
      conn.close(1011, 'chat unavailable');
    });
  }

  private async join(conn: ChatConnection, stream: ChatStream): Promise<void> {
    if (stream.status === 'ended') {
      conn.write(historyFrame(await this.recentFromStore(stream.id, this.d.config.historySize)));
      conn.write(closedFrame(stream.id));
      conn.close(1000, 'stream ended');
      return;
    }
    const chat = this.rooms.get(stream.id) ?? this.open(stream);
    chat.refs += 1;
    this.membership.set(conn, chat);
    await chat.ready;
    if (!conn.open) return;
    if (chat.closed) {
      conn.write(this.historyOf(chat));
      conn.write(closedFrame(chat.streamId));
      conn.close(1000, 'stream ended');
      return;
    }
    chat.room.add(conn, this.historyOf(chat));
    conn.joined = true;
    // The creator's own sockets (the dashboard's chat, their tabs) are not an audience.
    if (conn.user?.id === chat.creatorId) return;
    conn.counted = true;
    this.d.streams.viewerJoined(chat.streamId, conn.viewerId, this.addressOf.get(conn) ?? null);
  }

  private detach(conn: ChatConnection): void {
    if (!this.sockets.delete(conn)) return;
    this.d.metrics.sockets.dec();
    this.addressOf.delete(conn);
    const chat = this.membership.get(conn);
    if (!chat) return;
    this.membership.delete(conn);
    chat.room.remove(conn);
    if (conn.counted) this.d.streams.viewerLeft(chat.streamId, conn.viewerId);
    chat.refs -= 1;
    if (chat.refs === 0) this.drop(chat);
  }

  private open(stream: ChatStream): StreamChat {
    const chat: StreamChat = {
      streamId: stream.id,
      creatorId: stream.creator_id,
      closed: false,
      room: new SocketRoom(this.d.config.flushIntervalMs),
      refs: 0,
      ready: Promise.resolve(),
      loaded: false,
      early: [],
      bans: new Set(),
      slowModeSeconds: 0,
      recent: [],
      historyFrame: null,
      handler: (e) => (chat.loaded ? this.apply(chat, e, false) : chat.early.push(e)),
    };
    this.rooms.set(stream.id, chat);
    chat.ready = this.load(chat);
    // A failed load must not stick: the next socket starts a fresh one.
    chat.ready.catch(() => this.drop(chat));
    return chat;
  }

  private drop(chat: StreamChat): void {
    if (this.rooms.get(chat.streamId) !== chat) return;
    this.rooms.delete(chat.streamId);
    if (!this.writers.get(chat.streamId)?.busy) this.writers.delete(chat.streamId);
    this.d.relay.unsubscribe(chat.streamId, chat.handler).catch((err) => this.d.logger.warn({ err }, 'chat unsubscribe failed'));
  }

  /** Subscribes first, then reads the state, so no event falls between the two. */
  private async load(chat: StreamChat): Promise<void> {
    await this.d.relay.subscribe(chat.streamId, chat.handler);
    const [stream, settings, bans, recent] = await Promise.all([
      this.d.streams.getStream(chat.streamId),
      this.d.repo.settings(chat.streamId),
      this.d.repo.bans(chat.streamId),
      this.recentFromStore(chat.streamId, this.keep),
    ]);
    chat.closed = !stream || stream.status === 'ended';
    chat.slowModeSeconds = settings?.slow_mode_seconds ?? 0;
    chat.bans = new Set(bans.map((b) => b.user_id));
    chat.recent = recent;
    chat.loaded = true;
    const early = chat.early;
    chat.early = [];
    for (const e of early) this.apply(chat, e, true);
  }

  private async recentFromStore(streamId: string, limit: number): Promise<ChatMessage[]> {
    return (await this.d.relay.recent(streamId, limit)) ?? (await this.d.repo.visible(streamId, limit));
  }

  private historyOf(chat: StreamChat): Buffer {
    chat.historyFrame ??= historyFrame(chat.recent.slice(-this.d.config.historySize));
    return chat.historyFrame;
  }

  /** Applies one relay event to the room; `replay` marks events that raced the room's load. */
  private apply(chat: StreamChat, e: RelayEvent, replay: boolean): void {
    const id = chat.streamId;
    switch (e.t) {
      case 'messages': {
        let fresh = e.messages;
        if (replay) {
          const seen = new Set(chat.recent.map((m) => m.comment_id));
          fresh = fresh.filter((m) => !seen.has(m.comment_id));
        }
        if (fresh.length === 0) return;
        for (const m of fresh) insertByCommentId(chat.recent, m);
        if (chat.recent.length > this.keep) chat.recent.splice(0, chat.recent.length - this.keep);
        chat.historyFrame = null;
        for (const m of fresh) chat.room.broadcast(eventFrame(messageEvent(m)));
        return;
      }
      case 'deleted': {
        const i = chat.recent.findIndex((m) => m.comment_id === e.comment_id);
        if (i >= 0) {
          chat.recent.splice(i, 1);
          chat.historyFrame = null;
        }
        chat.room.broadcast(eventFrame({ event_type: 'chat.deleted', stream_id: id, comment_id: e.comment_id }));
        return;
      }
      case 'banned':
        chat.bans.add(e.user_id);
        chat.room.toUser(e.user_id, errorFrame('banned', 'A moderator banned you from this chat: you can still read it, but not send.'));
        return;
      case 'unbanned':
        chat.bans.delete(e.user_id);
        chat.room.toUser(e.user_id, eventFrame({ event_type: 'chat.unbanned', stream_id: id }));
        return;
      case 'settings':
        chat.slowModeSeconds = e.slow_mode_seconds;
        chat.room.broadcast(eventFrame({ event_type: 'chat.settings', stream_id: id, slow_mode_seconds: e.slow_mode_seconds }));
        return;
      case 'closed':
        chat.closed = true;
        chat.room.closeAll(closedFrame(id), 1000, 'stream ended');
        return;
    }
  }

  private reject(conn: ChatConnection, code: ChatErrorCode, detail: string, extra?: Record<string, unknown>): void {
    this.d.metrics.rejected.inc({ code });
    conn.write(errorFrame(code, detail, extra));
  }

  private async onFrame(conn: ChatConnection, data: Buffer, isBinary: boolean): Promise<void> {
    const chat = this.membership.get(conn);
    if (!chat || !conn.joined) return;
    const cfg = this.d.config;
    const frame = parseClientFrame(data, isBinary, this.maxFrameBytes);
    if (!frame.ok) {
      if ('tooLong' in frame) return this.reject(conn, 'too_long', `The message is longer than ${cfg.maxMessageChars} characters.`);
      return this.reject(conn, 'malformed', frame.detail);
    }
    if (chat.closed) return this.reject(conn, 'closed', 'The stream has ended; its chat is closed.');
    const user = conn.user;
    if (!user) {
      return this.reject(
        conn,
        'unauthenticated',
        conn.badToken ? 'The token is invalid or expired: sign in again to chat.' : 'Sign in to chat: connect with ?token=<token> or an Authorization: Bearer header.',
      );
    }
    if (chat.bans.has(user.id)) return this.reject(conn, 'banned', 'You are banned from this chat.');
    const text = cleanText(frame.message, cfg.maxMessageChars);
    if (!text.ok) return this.reject(conn, text.code, text.detail);
    if (!isModerator(user, chat.creatorId)) {
      // Slow mode first: a message it refuses does not also spend a token of the flood bucket.
      if (chat.slowModeSeconds > 0) {
        const hit = await this.d.limiter.hit(`chat:slow:${chat.streamId}:${user.id}`, 1, chat.slowModeSeconds);
        if (!hit.allowed) {
          const s = Math.max(1, Math.ceil(hit.retryAfterSeconds));
          return this.reject(conn, 'slow_mode', `Slow mode is on: one message every ${chat.slowModeSeconds} s; wait ${s} s.`, { retry_after_seconds: s });
        }
      }
      const taken = this.buckets.take(user.id);
      if (!taken.ok) {
        const s = Math.ceil(taken.retryAfterMs / 1000);
        return this.reject(conn, 'rate_limited', taken.muted ? `Too many messages: muted for ${s} s.` : `Too many messages: wait ${s} s.`, { retry_after_seconds: s });
      }
    }
    const msg: ChatMessage = {
      stream_id: chat.streamId,
      user_id: user.id,
      username: user.username,
      message: text.text,
      created_at: new Date().toISOString(),
      comment_id: uuidv7(),
    };
    // Not awaited: the writer keeps this sender's order, and the next frame need not wait for a commit.
    this.writerFor(chat.streamId)
      .write(msg)
      .catch((err) => {
        this.d.logger.warn({ err, stream_id: chat.streamId }, 'chat message not stored');
        this.reject(conn, 'unavailable', 'The message could not be saved; send it again.');
      });
  }

  private writerFor(streamId: string): MessageWriter {
    let w = this.writers.get(streamId);
    if (!w) {
      const writer = new MessageWriter(
        async (batch) => {
          await this.d.repo.insertMessages(streamId, batch);
          this.d.metrics.accepted.inc(batch.length);
          // Stored is stored: a relay hiccup must not make senders resend (and duplicate) it.
          await this.d.relay.publish(streamId, { t: 'messages', messages: batch }).catch((err) => this.d.logger.warn({ err }, 'chat publish failed'));
        },
        () => {
          if (!this.rooms.has(streamId)) this.writers.delete(streamId);
        },
      );
      this.writers.set(streamId, writer);
      w = writer;
    }
    return w;
  }
}

export function closedFrame(streamId: string): Buffer {
  return eventFrame({ event_type: 'chat.closed', stream_id: streamId });
}

/**
 * History is ordered by comment_id (UUID v7: creation time), the order the database returns.
 * Live delivery follows the relay's order, which differs only for messages created within the
 * same moment on different processes; they almost always arrive in order, so this is an append.
 */
function insertByCommentId(list: ChatMessage[], m: ChatMessage): void {
  let i = list.length;
  while (i > 0 && list[i - 1].comment_id > m.comment_id) i--;
  list.splice(i, 0, m);
}
