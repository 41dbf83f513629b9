// Trending live streams: ranked by what is happening now — current viewers plus chat activity over
// the last few minutes — rather than by decayed history, because a live stream's value is its
// present. Asks live for the streams live now (viewer counts are swept there by the live capability)
// and chat for their recent message counts; cached briefly, so a busy discover page costs two
// queries every few seconds.
import type { ChatRepository } from '../chat/chat.repository.js';
import type { LiveRepository } from '../live/live.repository.js';

/** Chat messages counted toward a stream's activity: those of the last CHAT_WINDOW_MS. */
const CHAT_WINDOW_MS = 5 * 60_000;
/** One chat message per minute weighs as much as this many viewers. */
const CHAT_WEIGHT = 3;
const CACHE_MS = 2_000;

export interface LiveTrendingItem {
  id: string;
  title: string;
  creator_id: string;
  started_at: string | null;
  viewer_count: number;
  chat_messages_per_minute: number;
  score: number;
}

export function liveScore(viewers: number, chatPerMinute: number): number {
  return viewers + CHAT_WEIGHT * chatPerMinute;
}

export class LiveTrending {
  private cache: { at: number; items: LiveTrendingItem[] } | null = null;

  constructor(
    private readonly live: Pick<LiveRepository, 'liveNow'>,
    private readonly chat: Pick<ChatRepository, 'visibleCountsSince'>,
    private readonly maxItems: number,
  ) {}

  async list(limit: number): Promise<LiveTrendingItem[]> {
    if (!this.cache || Date.now() - this.cache.at > CACHE_MS) this.cache = { at: Date.now(), items: await this.load() };
    return this.cache.items.slice(0, limit);
  }

  private async load(): Promise<LiveTrendingItem[]> {
    const since = new Date(Date.now() - CHAT_WINDOW_MS).toISOString();
    const streams = await this.live.liveNow();
    const chat = await this.chat.visibleCountsSince(
      streams.map((s) => s.id),
      since,
    );
    const rows = streams.map((s) => ({ ...s, chat: chat.get(s.id) ?? 0 }));
    const now = Date.now();
    return rows
      .map((r) => {
        // A stream younger than the window is measured over its own age, so a new stream is not penalised.
        const started = r.started_at ? Date.parse(r.started_at) : now - CHAT_WINDOW_MS;
        const minutes = Math.max(1, Math.min(CHAT_WINDOW_MS, now - started) / 60_000);
        const perMinute = Math.round((Number(r.chat) / minutes) * 100) / 100;
        const viewers = Number(r.viewer_count);
        return { id: r.id, title: r.title, creator_id: r.creator_id, started_at: r.started_at, viewer_count: viewers, chat_messages_per_minute: perMinute, score: liveScore(viewers, perMinute) };
      })
      .sort((a, b) => b.score - a.score || b.viewer_count - a.viewer_count)
      .slice(0, this.maxItems);
  }
}
