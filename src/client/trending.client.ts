// Trending calls of the typed client (used by tests and benchmarks): the list, and its SSE stream.
import type { TrendingItemJson, TrendingResponseJson } from '../trending/trending.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type TrendingEntry = TrendingItemJson;
export type TrendingPage = TrendingResponseJson;

export function getTrending(c: NovaClient, window?: string, limit?: number): Promise<ApiResponse<TrendingPage>> {
  const qs = new URLSearchParams();
  if (window !== undefined) qs.set('window', window);
  if (limit !== undefined) qs.set('limit', String(limit));
  return c.get(`/api/v1/discover/trending${qs.size ? `?${qs.toString()}` : ''}`);
}

export interface TrendingStream {
  /** Every `trending` event received so far. */
  events: TrendingPage[];
  /** Resolves with the first event (already received or future) that satisfies `pred`. */
  next(pred: (p: TrendingPage) => boolean, timeoutMs?: number): Promise<TrendingPage>;
  close(): void;
}

/** Opens `/discover/trending/stream` and collects its events until closed. */
export async function openTrendingStream(c: NovaClient, window: string, limit = 20): Promise<TrendingStream> {
  const ctrl = new AbortController();
  const res = await fetch(c.url(`/api/v1/discover/trending/stream?window=${window}&limit=${limit}`), { headers: { accept: 'text/event-stream' }, signal: ctrl.signal });
  if (res.status !== 200 || !res.body) throw new Error(`trending stream answered ${res.status}: ${await res.text()}`);
  const events: TrendingPage[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, cut).split('\n');
          buffer = buffer.slice(cut + 2);
          const type = lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (type === 'trending' && data) {
            events.push(JSON.parse(data) as TrendingPage);
            for (const w of [...waiters]) w();
          }
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    events,
    next(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (!hit) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching trending event within ${timeoutMs} ms (${events.length} received)`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () => ctrl.abort(),
  };
}
