// The "Live now" cards on the home page, kept current while the page is open: the live listing is
// fetched again every few seconds while the tab is visible (not while it is hidden, nor after the
// page is left). Cards are patched in place (a count's text, a card added or removed), never
// rebuilt, so nothing flickers and a card being hovered or focused stays as it is.
import { ApiError, get } from './api.js';
import { h, replace } from './dom.js';
import { count } from './format.js';
import type { Page as ListPage, Stream } from './types.js';

const REFRESH_MS = 10_000;

interface Card {
  el: HTMLElement;
  title: HTMLElement;
  meta: HTMLElement;
}

function metaText(s: Stream): string {
  return [s.creator_username, count(s.viewer_count ?? 0, 'viewer')].filter(Boolean).join(' · ');
}

function newCard(s: Stream): Card {
  const title = h('h3', { class: 'card-title' }, s.title);
  const meta = h('p', { class: 'meta' }, metaText(s));
  const el = h(
    'article',
    { class: 'card', 'data-stream-id': s.id },
    h('a', { href: `/live/${s.id}`, class: 'card-link' }, h('div', { class: 'thumb live-thumb' }, h('span', { class: 'badge live' }, 'Live')), title),
    meta,
  );
  return { el, title, meta };
}

/** Sets the text only when it changed, so an unchanged card is not touched at all. */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export interface LiveNow {
  /** Fills `grid` and shows `block` while any stream is live. */
  start(): void;
  dispose(): void;
}

export function liveNow(block: HTMLElement, grid: HTMLElement): LiveNow {
  const cards = new Map<string, Card>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inFlight = false;
  let stopped = false;

  function paint(items: Stream[]): void {
    const next = new Map<string, Card>();
    for (const s of items) {
      const card = cards.get(s.id) ?? newCard(s);
      setText(card.title, s.title);
      setText(card.meta, metaText(s));
      next.set(s.id, card);
    }
    const order = [...next.values()].map((c) => c.el);
    const same = order.length === grid.children.length && order.every((el, i) => grid.children[i] === el);
    if (!same) replace(grid, order);
    cards.clear();
    for (const [id, c] of next) cards.set(id, c);
    block.hidden = items.length === 0;
  }

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!stopped && document.visibilityState === 'visible') timer = setTimeout(() => void refresh(), REFRESH_MS);
  }

  async function refresh(): Promise<void> {
    timer = null;
    if (stopped || inFlight) return;
    inFlight = true;
    try {
      const res = await get<ListPage<Stream>>('/api/v1/streams?status=live&limit=12');
      if (!stopped) paint(res.items);
    } catch (err) {
      // Live streaming is off on this server: the section stays hidden and is not asked again.
      if (err instanceof ApiError && err.status === 404) stopped = true;
      // Anything else (a network blip): the cards already shown stay, and the next refresh retries.
    } finally {
      inFlight = false;
    }
    schedule();
  }

  function onVisibility(): void {
    if (stopped) return;
    if (document.visibilityState === 'visible') void refresh();
    else if (timer) {
      clearTimeout(timer);
      timer = null;
    }
  }

  return {
    start() {
      document.addEventListener('visibilitychange', onVisibility);
      void refresh();
    },
    dispose() {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisibility);
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
