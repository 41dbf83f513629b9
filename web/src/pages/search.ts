// Full search results for /search?q=: channels whose name starts with the query, then videos
// ranked by the server (prefixes, any word order, accents ignored).
import { h, replace } from '../dom.js';
import { errorText, get } from '../api.js';
import type { Page, PageContext } from '../router.js';
import type { SearchResult } from '../types.js';
import { empty, loading, videoCard } from '../ui.js';

export function searchPage(ctx: PageContext): Page {
  const q = (ctx.query.get('q') ?? '').trim().slice(0, 200);
  const channels = h('ul', { class: 'chips', 'aria-label': 'Channels' });
  const grid = h('div', { class: 'grid', role: 'group', 'aria-label': 'Videos' });
  const el = h('section', { class: 'page search-results' }, h('h1', null, q ? `Results for “${q}”` : 'Search'), channels, grid);

  async function load(): Promise<void> {
    if (!q) return replace(grid, empty('Type in the search box to find videos and channels.'));
    loading(grid);
    try {
      const enc = encodeURIComponent(q);
      const [videos, users] = await Promise.all([get<SearchResult>(`/api/v1/search?type=video&limit=24&q=${enc}`), get<SearchResult>(`/api/v1/search?type=user&limit=8&q=${enc}`)]);
      replace(
        channels,
        users.items.map((u) => h('li', null, h('a', { href: `/u/${encodeURIComponent(u.username ?? '')}`, class: 'chip' }, u.username ?? ''))),
      );
      replace(
        grid,
        videos.items.length
          ? videos.items.map((v) =>
              videoCard({
                id: v.id,
                title: v.title ?? '',
                thumbnail_url: v.thumbnail_url ?? null,
                duration_seconds: v.duration_seconds ?? null,
                created_at: v.created_at ?? '',
                owner_username: v.username,
              }),
            )
          : empty(`No videos match “${q}”.`),
      );
    } catch (err) {
      replace(grid, empty(errorText(err)));
    }
  }

  void load();
  return { title: q ? `${q} · Search` : 'Search', el };
}
