// Trending: turns engagement events into window scores (see trending.score) in a store, and keeps
// each window's top list ready to serve. A list is rebuilt shortly after engagement changes it
// (debounced, so a burst costs one rebuild), and every few seconds for the decay; listeners (the
// SSE streams) hear of each rebuilt list that differs from the last one.
import type { EventEnvelope } from '../events/events.types.js';
import type { Logger } from '../infra/logger.js';
import type { TrendingRepository, VideoCard } from './trending.repository.js';
import { displayScore, WEIGHTS, WINDOW_SECONDS, WINDOWS, type TrendingWindow } from './trending.score.js';
import type { Engagement, TrendingStore } from './trending.store.js';

/** Event types trending consumes. */
export const TRENDING_EVENTS = ['video.viewed', 'video.liked', 'video.watched', 'video.deleted', 'video.updated'] as const;

export interface RankedCard {
  rank: number;
  score: number;
  card: VideoCard;
}

export interface TrendingList {
  window: TrendingWindow;
  generated_at: string;
  /** Bumped whenever the list differs from the previous one. */
  version: number;
  entries: RankedCard[];
}

export interface TrendingOptions {
  /** Longest list kept per window (the largest `limit` a client may ask for). */
  maxItems: number;
  refreshMs: number;
  debounceMs: number;
  /** Video titles and view counts are re-read this often. */
  cardTtlMs: number;
}

type Listener = (list: TrendingList) => void;

const PRUNE_EVERY_MS = 60_000;

/** The engagement an event stands for, or null (an unlike, an empty watch, another type). */
export function engagementOf(e: EventEnvelope, nowMs: number): Engagement | null {
  const p = e as unknown as Record<string, unknown>;
  const videoId = typeof p.video_id === 'string' ? p.video_id : null;
  if (!videoId) return null;
  const stamped = Date.parse(typeof p.timestamp === 'string' ? p.timestamp : e.occurred_at);
  // The time of the engagement itself, never in the future.
  const atMs = Number.isFinite(stamped) ? Math.min(stamped, nowMs) : nowMs;
  switch (e.event_type) {
    case 'video.viewed':
      return { videoId, atMs, weight: WEIGHTS.view };
    case 'video.liked':
      return p.liked === true && typeof p.user_id === 'string' ? { videoId, atMs, weight: WEIGHTS.like, onceKey: `like:${p.user_id}` } : null;
    case 'video.watched': {
      const minutes = Math.min(Number(p.seconds) / 60, WEIGHTS.maxWatchMinutesPerEvent);
      return minutes > 0 ? { videoId, atMs, weight: minutes * WEIGHTS.watchMinute } : null;
    }
    default:
      return null;
  }
}

export class TrendingService {
  private readonly lists = new Map<TrendingWindow, TrendingList>();
  private readonly listeners = new Map<TrendingWindow, Set<Listener>>(WINDOWS.map((w) => [w, new Set<Listener>()]));
  private readonly cards = new Map<string, { card: VideoCard | null; at: number }>();
  private rebuildTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private rebuilding: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;

  constructor(
    private readonly store: TrendingStore,
    private readonly repo: TrendingRepository,
    private readonly opts: TrendingOptions,
    private readonly logger: Logger,
  ) {}

  /** Applies engagement (and deletions) to the store. */
  async apply(events: EventEnvelope[]): Promise<void> {
    const now = Date.now();
    const add: Engagement[] = [];
    for (const e of events) {
      if (e.event_type === 'video.deleted') {
        const id = (e as EventEnvelope<'video.deleted'>).video_id;
        await this.store.add(add.splice(0));
        await this.store.remove(id);
        this.cards.delete(id);
        continue;
      }
      if (e.event_type === 'video.updated') {
        // Its title or visibility changed: re-read its card (a hidden video has none) right away.
        this.cards.delete((e as EventEnvelope<'video.updated'>).video_id);
        continue;
      }
      const g = engagementOf(e, now);
      if (g) {
        add.push(g);
        // Its view count changed: re-read the card at the next rebuild.
        this.cards.delete(g.videoId);
      }
    }
    await this.store.add(add);
  }

  /** Videos whose cards must be read again (edited on another node). */
  forget(ids: string[]): void {
    for (const id of ids) this.cards.delete(id);
  }

  /** Something changed (here or, with Redis, on another node): rebuild the lists soon. */
  changed(): void {
    if (this.rebuildTimer) return;
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = null;
      void this.rebuild();
    }, this.opts.debounceMs);
    this.rebuildTimer.unref();
  }

  async list(window: TrendingWindow): Promise<TrendingList> {
    const l = this.lists.get(window);
    if (l) return l;
    await this.rebuild();
    return this.lists.get(window)!;
  }

  /** Calls `fn` with every new version of the window's list; returns the unsubscribe. */
  subscribe(window: TrendingWindow, fn: Listener): () => void {
    const set = this.listeners.get(window)!;
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * Restores an in-process store after a restart: re-applies the engagement events this consumer
   * had processed within the longest window, from the outbox, in publish order.
   */
  async restore(consumer: string, nowMs = Date.now()): Promise<number> {
    const since = new Date(nowMs - WINDOW_SECONDS['7d'] * 1000).toISOString();
    let after = 0;
    let total = 0;
    for (;;) {
      const page = await this.repo.processedEngagement(consumer, TRENDING_EVENTS, since, after, 5000);
      if (page.length === 0) return total;
      await this.apply(page.map((r) => JSON.parse(r.payload) as EventEnvelope));
      after = page[page.length - 1].seq;
      total += page.length;
    }
  }

  start(): void {
    this.refreshTimer = setInterval(() => void this.rebuild(), this.opts.refreshMs);
    this.refreshTimer.unref();
    void this.rebuild();
  }

  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.refreshTimer = this.rebuildTimer = null;
    await this.rebuilding;
    for (const set of this.listeners.values()) set.clear();
  }

  /** One rebuild at a time; a request during one runs another right after. */
  rebuild(): Promise<void> {
    if (this.rebuilding) {
      this.again = true;
      return this.rebuilding;
    }
    this.rebuilding = (async () => {
      do {
        this.again = false;
        try {
          await this.rebuildOnce();
        } catch (err) {
          this.logger.warn({ err }, 'rebuilding the trending lists failed; serving the previous ones');
        }
      } while (this.again);
    })().finally(() => {
      this.rebuilding = null;
    });
    return this.rebuilding;
  }

  private async rebuildOnce(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.store.prune(now);
    }
    const ranked = new Map(await Promise.all(WINDOWS.map(async (w) => [w, await this.store.top(w, this.opts.maxItems, now)] as const)));
    const ids = new Set([...ranked.values()].flatMap((list) => list.map((r) => r.videoId)));
    const stale = [...ids].filter((id) => {
      const c = this.cards.get(id);
      return !c || now - c.at > this.opts.cardTtlMs;
    });
    if (stale.length) {
      const found = new Map((await this.repo.cards(stale)).map((c) => [c.id, c]));
      for (const id of stale) this.cards.set(id, { card: found.get(id) ?? null, at: now });
    }
    for (const id of this.cards.keys()) if (!ids.has(id)) this.cards.delete(id);

    for (const w of WINDOWS) {
      const entries: RankedCard[] = [];
      for (const r of ranked.get(w)!) {
        const card = this.cards.get(r.videoId)?.card;
        // Only ready videos are listed; others still keep their score for when they are.
        if (card) entries.push({ rank: entries.length + 1, score: Math.round(displayScore(w, r.logScore, now) * 1000) / 1000, card });
      }
      const prev = this.lists.get(w);
      if (prev && sameList(prev.entries, entries)) continue;
      const list: TrendingList = { window: w, generated_at: new Date(now).toISOString(), version: (prev?.version ?? 0) + 1, entries };
      this.lists.set(w, list);
      for (const fn of this.listeners.get(w)!) fn(list);
    }
  }
}

/** Same videos in the same order with the same scores (to 2 decimals) and titles. */
function sameList(a: RankedCard[], b: RankedCard[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => x.card.id === b[i].card.id && x.card.title === b[i].card.title && x.card.view_count === b[i].card.view_count && Math.abs(x.score - b[i].score) < 0.005);
}
