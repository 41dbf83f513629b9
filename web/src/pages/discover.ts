// Discover: live streams now (viewer counts kept current), the personalised feed (signed in), and
// trending videos per window, updated live (the trending event stream when the server has one, else
// a periodic refresh), with the latest public videos beside them, so a new instance with nothing
// trending is never empty.
import { h, replace } from '../dom.js';
import { errorText, get } from '../api.js';
import type { Page } from '../router.js';
import { session } from '../session.js';
import type { Page as ListPage, Video } from '../types.js';
import { empty, loading, videoCard } from '../ui.js';
import { instanceIntro } from '../instance.js';
import { liveNow } from '../live-now.js';
import type { FeedItemJson, FeedResultJson } from '../../../src/feed/feed.schemas.js';
import type { TrendingResponseJson } from '../../../src/trending/trending.schemas.js';

const WINDOWS: Array<[string, string]> = [
  ['1h', 'Past hour'],
  ['24h', 'Today'],
  ['7d', 'This week'],
];
const REFRESH_MS = 30_000;
const TRENDING_LIMIT = 20;

/** What the feed's `reason` means, as the viewer reads it. */
const REASONS: Record<string, string> = {
  followed: 'From a channel you follow',
  similar_to_liked: 'Because you liked or watched this creator',
  trending: 'Trending',
  new: 'New',
  popular: 'Popular',
};

/** A feed item; the feed sends no thumbnail (fillThumbnails fetches it), the card shows one if present. */
type FeedItem = FeedItemJson & { thumbnail_url?: string | null; view_count?: number };
type Feed = Omit<FeedResultJson, 'items'> & { items: FeedItem[] };
type Trending = TrendingResponseJson;

function section(title: string, body: HTMLElement, extra?: HTMLElement | null): HTMLElement {
  return h('section', { class: 'block', 'aria-label': title }, h('div', { class: 'row spread' }, h('h2', null, title), extra ?? null), body);
}

export function discoverPage(): Page {
  const liveGrid = h('div', { class: 'grid' });
  const feedGrid = h('div', { class: 'grid' });
  const feedNote = h('span', { class: 'hint' });
  const trendGrid = h('ol', { class: 'grid ranked', 'aria-label': 'Trending videos' });
  const trendState = h('span', { class: 'hint', role: 'status' });
  const latestGrid = h('div', { class: 'grid', role: 'group', 'aria-label': 'Latest videos' });
  const liveBlock = section('Live now', liveGrid);
  liveBlock.hidden = true;
  const live = liveNow(liveBlock, liveGrid);

  let win = '24h';
  let disposed = false;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastRanks = new Map<string, number>();
  let lastGenerated = '';

  const tabs = h(
    'div',
    { class: 'tabs', role: 'group', 'aria-label': 'Trending window' },
    WINDOWS.map(([value, label]) => {
      const b = h('button', { type: 'button', class: 'tab', 'aria-pressed': String(value === win), 'data-window': value }, label);
      b.addEventListener('click', () => {
        if (win === value) return;
        win = value;
        for (const t of tabs.querySelectorAll('button')) t.setAttribute('aria-pressed', String(t.dataset.window === win));
        lastRanks = new Map();
        lastGenerated = '';
        startTrending();
      });
      return b;
    }),
  );

  function paintTrending(t: Trending): void {
    if (t.window && t.window !== win) return;
    // The first fetch and the event stream race: never paint an older list over a newer one.
    if (t.generated_at && lastGenerated && t.generated_at < lastGenerated) return;
    lastGenerated = t.generated_at ?? lastGenerated;
    if (!t.items.length) {
      replace(trendGrid, h('li', null, empty('Nothing is trending in this window yet.')));
      lastRanks = new Map();
      return;
    }
    const ranks = new Map<string, number>();
    replace(
      trendGrid,
      t.items.map((item, i) => {
        ranks.set(item.id, i);
        const before = lastRanks.get(item.id);
        const move = before === undefined ? (lastRanks.size ? 'new' : '') : before > i ? 'up' : before < i ? 'down' : '';
        const moveLabel = move === 'up' ? '▲' : move === 'down' ? '▼' : move === 'new' ? 'new' : '';
        const foot = h(
          'p',
          { class: 'meta' },
          h('span', { class: 'rank' }, `#${i + 1}`),
          moveLabel ? h('span', { class: `move ${move}`, title: `Rank ${move}` }, ` ${moveLabel}`) : null,
          session.isAdmin ? ` · score ${item.score.toFixed(1)}` : null,
        );
        return h('li', null, videoCard({ ...item, created_at: '' }, foot));
      }),
    );
    lastRanks = ranks;
    // Scores, models and refresh times are for admins; viewers just see the list stay current.
    trendState.dataset.live = String(source?.readyState === EventSource.OPEN);
    trendState.textContent = session.isAdmin ? `${source?.readyState === EventSource.OPEN ? 'Live · ' : ''}updated ${new Date().toLocaleTimeString()}` : '';
  }

  async function fetchTrending(): Promise<void> {
    timer = null;
    try {
      paintTrending(await get<Trending>(`/api/v1/discover/trending?window=${win}&limit=${TRENDING_LIMIT}`));
    } catch (err) {
      // Keep a list that is already shown; replace only the loading line.
      if (trendGrid.querySelector('.loading')) replace(trendGrid, h('li', null, empty(`Trending is unavailable: ${errorText(err)}`)));
      else trendState.textContent = errorText(err);
    }
    if (!disposed && !source) timer = setTimeout(fetchTrending, REFRESH_MS);
  }

  function startTrending(): void {
    source?.close();
    source = null;
    if (timer) clearTimeout(timer);
    loading(trendGrid);
    void fetchTrending();
    if (typeof EventSource !== 'function') return;
    const es = new EventSource(`/api/v1/discover/trending/stream?window=${win}&limit=${TRENDING_LIMIT}`);
    source = es;
    es.addEventListener('trending', (ev) => {
      try {
        paintTrending(JSON.parse((ev as MessageEvent<string>).data) as Trending);
      } catch {
        // Ignore a malformed event; the next one has the whole list.
      }
    });
    es.addEventListener('error', () => {
      // Refused (no such stream on this server): refresh periodically instead.
      if (es.readyState === EventSource.CLOSED && source === es) {
        source = null;
        if (!timer && !disposed) timer = setTimeout(fetchTrending, REFRESH_MS);
      }
    });
  }

  async function loadLatest(): Promise<void> {
    loading(latestGrid);
    try {
      const res = await get<ListPage<Video>>('/api/v1/videos?sort=recent&limit=12');
      if (disposed) return;
      replace(latestGrid, res.items.length ? res.items.map((v) => videoCard(v)) : empty('No videos yet. Upload the first one!', h('a', { href: '/upload', class: 'button secondary' }, 'Upload')));
    } catch (err) {
      replace(latestGrid, empty(errorText(err)));
    }
  }

  /** Feed items carry no picture: fetch each video's poster for the cards that lack one. */
  async function fillThumbnails(ids: string[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        try {
          const v = await get<Video>(`/api/v1/videos/${encodeURIComponent(id)}`);
          const slot = feedGrid.querySelector(`a[href="/watch/${CSS.escape(id)}"] .thumb-empty`);
          if (v.thumbnail_url && slot && !disposed) slot.replaceWith(h('img', { src: v.thumbnail_url, alt: '', loading: 'lazy', decoding: 'async' }));
        } catch {
          // The card keeps its plain tile.
        }
      }),
    );
  }

  async function loadFeed(): Promise<void> {
    loading(feedGrid);
    try {
      const feed = await get<Feed>('/api/v1/feed?limit=12');
      if (disposed) return;
      if (session.isAdmin) {
        const how = feed.ranking === 'model' ? `Ranked for you by model ${feed.model_version ?? ''}` : 'Popular picks (personal ranking unavailable)';
        feedNote.textContent = feed.variant ? `${how} · ${feed.experiment ?? 'experiment'}: ${feed.variant}` : how;
      } else {
        feedNote.textContent = feed.ranking === 'model' ? 'Picked for you' : 'Popular picks';
      }
      replace(
        feedGrid,
        feed.items.length
          ? feed.items.map((v) =>
              videoCard(
                { ...v, thumbnail_url: v.thumbnail_url ?? null, view_count: v.views ?? v.view_count },
                v.reason ? h('p', { class: 'meta reason', 'data-reason': v.reason }, REASONS[v.reason] ?? v.reason) : null,
              ),
            )
          : empty('Watch and like a few videos to get recommendations.'),
      );
      void fillThumbnails(feed.items.filter((v) => !v.thumbnail_url).map((v) => v.id));
    } catch (err) {
      replace(feedGrid, empty(errorText(err)));
    }
  }

  const feedBlock = session.user
    ? section('For you', feedGrid, feedNote)
    : section('For you', empty('Sign in to get videos picked for you.', h('a', { href: '/signin', class: 'button secondary' }, 'Sign in')));

  const el = h(
    'div',
    { class: 'page discover' },
    h('h1', { class: 'sr-only' }, 'Discover'),
    instanceIntro(),
    liveBlock,
    feedBlock,
    h('div', { class: 'columns' }, section('Trending', h('div', null, h('div', { class: 'row spread' }, tabs, trendState), trendGrid)), section('Latest', latestGrid)),
  );

  live.start();
  if (session.user) void loadFeed();
  startTrending();
  void loadLatest();
  return {
    title: 'Discover',
    el,
    dispose() {
      disposed = true;
      live.dispose();
      source?.close();
      if (timer) clearTimeout(timer);
    },
  };
}
