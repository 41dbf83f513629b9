// The signed-in user's videos with their status; videos still in the pipeline show live progress.
import { h, replace } from '../dom.js';
import { del, errorText, get } from '../api.js';
import { signInRequired } from '../guard.js';
import type { Page } from '../router.js';
import type { Page as ListPage, Progress, Video } from '../types.js';
import { badge, empty, loading, notice, videoCard } from '../ui.js';

const PAGE_SIZE = 24;
const POLL_MS = 3000;

export function myVideosPage(): Page {
  const title = 'My videos';
  const guard = signInRequired(title, 'Sign in to see your videos.');
  if (guard) return guard;

  const grid = h('div', { class: 'grid' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const msg = notice();
  const el = h('section', { class: 'page' }, h('div', { class: 'row spread' }, h('h1', null, title), h('a', { href: '/upload', class: 'button' }, 'Upload')), msg.el, grid, more);

  let cursor: string | null = null;
  let disposed = false;
  const pending = new Map<string, (p: Progress) => void>();
  let timer: ReturnType<typeof setTimeout> | null = null;

  async function pollPending(): Promise<void> {
    timer = null;
    await Promise.all(
      [...pending].map(async ([id, update]) => {
        try {
          update(await get<Progress>(`/api/v1/videos/${id}/progress`));
        } catch {
          // Try again next round.
        }
      }),
    );
    if (!disposed && pending.size) timer = setTimeout(pollPending, POLL_MS);
  }

  function card(v: Video): HTMLElement {
    const status = h('div', { class: 'row spread card-foot' });
    const remove = h('button', { type: 'button', class: 'link danger', 'aria-label': `Delete ${v.title}` }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!confirm(`Delete "${v.title}"? This cannot be undone.`)) return;
      try {
        await del(`/api/v1/videos/${v.id}`);
        pending.delete(v.id);
        node.remove();
        if (!grid.childElementCount) replace(grid, empty('No videos left.'));
      } catch (err) {
        msg.error(errorText(err));
      }
    });
    const paint = (state: string, progress?: number) => {
      replace(status, h('span', null, badge(state), progress !== undefined && state !== 'ready' && state !== 'failed' ? ` ${Math.floor(progress)} %` : ''), remove);
    };
    paint(v.status);
    const node = videoCard({ ...v, status: undefined }, status);
    if (!['ready', 'failed', 'waiting_upload'].includes(v.status)) {
      pending.set(v.id, (p) => {
        paint(p.status, p.progress);
        if (p.status === 'ready' || p.status === 'failed') pending.delete(v.id);
      });
    }
    return node;
  }

  async function loadPage(): Promise<void> {
    more.disabled = true;
    try {
      const q = new URLSearchParams({ owner: 'me', limit: String(PAGE_SIZE) });
      if (cursor) q.set('cursor', cursor);
      const res = await get<ListPage<Video>>(`/api/v1/videos?${q}`);
      if (disposed) return;
      if (!cursor) replace(grid);
      if (!cursor && res.items.length === 0) replace(grid, empty('You have not uploaded any videos yet.', h('a', { href: '/upload', class: 'button' }, 'Upload your first video')));
      for (const v of res.items) grid.append(card(v));
      cursor = res.next_cursor ?? null;
      more.hidden = !cursor;
      if (pending.size && !timer) timer = setTimeout(pollPending, POLL_MS);
    } catch (err) {
      msg.error(errorText(err));
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener('click', () => void loadPage());
  loading(grid);
  void loadPage();
  return {
    title,
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
