// Live chat for the typed client: HTTP history and moderation calls over NovaClient, and a small
// WebSocket wrapper (ChatSocket) that records what the server sends and waits for events, used by
// the tests and the chat benchmark.
import WebSocket from 'ws';
import type { BanJson, BanListJson, ChatMessageJson, HistoryPageJson, SettingsJson } from '../chat/chat.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type ChatMessage = ChatMessageJson;
export type ChatBan = BanJson;
export type ChatSettings = SettingsJson;

export type ChatEvent =
  | ({ event_type: 'chat.message' } & ChatMessage)
  | { event_type: 'chat.history'; messages: ChatMessage[] }
  | { event_type: 'chat.error'; code: string; detail: string; retry_after_seconds?: number }
  | { event_type: 'chat.deleted'; stream_id: string; comment_id: string }
  | { event_type: 'chat.settings'; stream_id: string; slow_mode_seconds: number }
  | { event_type: 'chat.unbanned'; stream_id: string }
  | { event_type: 'chat.closed'; stream_id: string };

const base = (streamId: string) => `/api/v1/streams/${streamId}/chat`;

export function chatHistory(c: NovaClient, streamId: string, q: { limit?: number; before?: string } = {}): Promise<ApiResponse<HistoryPageJson>> {
  const qs = new URLSearchParams();
  if (q.limit !== undefined) qs.set('limit', String(q.limit));
  if (q.before) qs.set('before', q.before);
  const s = qs.toString();
  return c.get(`${base(streamId)}/messages${s ? `?${s}` : ''}`);
}

export function deleteChatMessage(c: NovaClient, streamId: string, commentId: string): Promise<ApiResponse> {
  return c.delete(`${base(streamId)}/messages/${commentId}`);
}

export function banFromChat(c: NovaClient, streamId: string, userId: string): Promise<ApiResponse<ChatBan>> {
  return c.post(`${base(streamId)}/bans`, { user_id: userId });
}

export function unbanFromChat(c: NovaClient, streamId: string, userId: string): Promise<ApiResponse> {
  return c.delete(`${base(streamId)}/bans/${userId}`);
}

export function chatBans(c: NovaClient, streamId: string): Promise<ApiResponse<BanListJson>> {
  return c.get(`${base(streamId)}/bans`);
}

export function chatSettings(c: NovaClient, streamId: string): Promise<ApiResponse<ChatSettings>> {
  return c.get(`${base(streamId)}/settings`);
}

export function putChatSettings(c: NovaClient, streamId: string, slowModeSeconds: number): Promise<ApiResponse<ChatSettings>> {
  return c.put(`${base(streamId)}/settings`, { slow_mode_seconds: slowModeSeconds });
}

export function chatSocketUrl(baseUrl: string, streamId: string, q: { token?: string | null; viewer?: string } = {}): string {
  const u = new URL(`${baseUrl.replace(/^http/, 'ws')}${base(streamId)}/ws`);
  if (q.token) u.searchParams.set('token', q.token);
  if (q.viewer) u.searchParams.set('viewer', q.viewer);
  return u.toString();
}

export interface ChatSocketOptions {
  token?: string | null;
  /** Send the token as an Authorization header instead of ?token=. */
  tokenInHeader?: boolean;
  viewer?: string;
  /** Keep every parsed event in `events` (default true; the benchmark turns it off). */
  record?: boolean;
  /** Called with each raw text frame before parsing; return false to skip parsing it. */
  onFrame?: (data: Buffer) => boolean | void;
  /** Answer server pings (default true; tests of dead-socket reaping turn it off). */
  autoPong?: boolean;
  /** Trust the server's text frames to be UTF-8 instead of checking each (the benchmark's many receivers). */
  skipUtf8Validation?: boolean;
}

/** One chat connection as a client sees it. */
export class ChatSocket {
  readonly events: ChatEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ pred: (e: ChatEvent) => boolean; resolve: (e: ChatEvent) => void }> = [];

  private constructor(
    readonly ws: WebSocket,
    private readonly opts: ChatSocketOptions,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      if (opts.onFrame && opts.onFrame(data) === false) return;
      const e = JSON.parse(data.toString('utf8')) as ChatEvent;
      if (opts.record !== false) this.events.push(e);
      if (this.waiters.length) {
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(e)) return true;
          w.resolve(e);
          return false;
        });
      }
    });
  }

  /** Connects; rejects with the HTTP status when the server refuses the upgrade. */
  static open(baseUrl: string, streamId: string, opts: ChatSocketOptions = {}): Promise<ChatSocket> {
    const headers: Record<string, string> = {};
    if (opts.token && opts.tokenInHeader) headers.authorization = `Bearer ${opts.token}`;
    const url = chatSocketUrl(baseUrl, streamId, { token: opts.tokenInHeader ? null : opts.token, viewer: opts.viewer });
    const ws = new WebSocket(url, { headers, autoPong: opts.autoPong ?? true, perMessageDeflate: false, skipUTF8Validation: opts.skipUtf8Validation ?? false });
    const sock = new ChatSocket(ws, opts);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(sock));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`chat upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(message: string): void {
    this.ws.send(JSON.stringify({ type: 'chat.send', message }));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The first event so far or to come that matches, or a rejection after timeoutMs. */
  waitFor<E extends ChatEvent = ChatEvent>(pred: (e: ChatEvent) => boolean, timeoutMs = 15_000, what = 'chat event'): Promise<E> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen as E);
    return new Promise<E>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: (e: ChatEvent) => {
          clearTimeout(timer);
          resolve(e as E);
        },
      };
      this.waiters.push(waiter);
    });
  }

  history(timeoutMs?: number): Promise<{ event_type: 'chat.history'; messages: ChatMessage[] }> {
    return this.waitFor((e) => e.event_type === 'chat.history', timeoutMs, 'chat.history');
  }

  error(code: string, timeoutMs?: number): Promise<{ event_type: 'chat.error'; code: string; detail: string }> {
    return this.waitFor((e) => e.event_type === 'chat.error' && e.code === code, timeoutMs, `chat.error ${code}`);
  }

  message(pred: (m: ChatMessage) => boolean, timeoutMs?: number): Promise<{ event_type: 'chat.message' } & ChatMessage> {
    return this.waitFor((e) => e.event_type === 'chat.message' && pred(e), timeoutMs, 'chat.message');
  }

  /** The chat.message events received so far. */
  messages(): ChatMessage[] {
    return this.events.filter((e): e is { event_type: 'chat.message' } & ChatMessage => e.event_type === 'chat.message');
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}
