// Where trending scores live: in-process (the embedded default, one node) or Redis sorted sets
// (REDIS_URL, shared by every node). Both keep, per window, each video's log-space score (see
// trending.score) and, per video, the time of its latest engagement: a video leaves a window once
// that is older than the window.
import { logAddExp, logTerm, WINDOW_SECONDS, WINDOWS, type TrendingWindow } from './trending.score.js';

export interface Engagement {
  videoId: string;
  atMs: number;
  weight: number;
  /** Counted once per video: a repeated like by the same user adds nothing. */
  onceKey?: string;
}

export interface Ranked {
  videoId: string;
  logScore: number;
}

export interface TrendingStore {
  add(engagements: Engagement[]): Promise<void>;
  remove(videoId: string): Promise<void>;
  /** The best `limit` videos of a window whose latest engagement is within it, best first. */
  top(window: TrendingWindow, limit: number, nowMs: number): Promise<Ranked[]>;
  /** Forgets what no window holds any more. */
  prune(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  scores: Record<TrendingWindow, number>;
  lastMs: number;
  once: Set<string>;
}

export class MemoryTrendingStore implements TrendingStore {
  private readonly entries = new Map<string, Entry>();

  async add(engagements: Engagement[]): Promise<void> {
    for (const e of engagements) {
      let entry = this.entries.get(e.videoId);
      if (!entry) {
        entry = { scores: { '1h': -Infinity, '24h': -Infinity, '7d': -Infinity }, lastMs: 0, once: new Set() };
        this.entries.set(e.videoId, entry);
      }
      if (e.onceKey) {
        if (entry.once.has(e.onceKey)) continue;
        entry.once.add(e.onceKey);
      }
      for (const w of WINDOWS) entry.scores[w] = logAddExp(entry.scores[w], logTerm(w, e.weight, e.atMs));
      entry.lastMs = Math.max(entry.lastMs, e.atMs);
    }
  }

  async remove(videoId: string): Promise<void> {
    this.entries.delete(videoId);
  }

  async top(window: TrendingWindow, limit: number, nowMs: number): Promise<Ranked[]> {
    const since = nowMs - WINDOW_SECONDS[window] * 1000;
    const out: Ranked[] = [];
    for (const [videoId, e] of this.entries) if (e.lastMs >= since) out.push({ videoId, logScore: e.scores[window] });
    out.sort((a, b) => b.logScore - a.logScore || (a.videoId < b.videoId ? -1 : 1));
    return out.slice(0, limit);
  }

  async prune(nowMs: number): Promise<void> {
    const since = nowMs - WINDOW_SECONDS['7d'] * 1000;
    for (const [id, e] of this.entries) if (e.lastMs < since) this.entries.delete(id);
  }

  async close(): Promise<void> {}
}
