// The header's search box: suggestions as you type (videos and channels, debounced, the previous
// request aborted), arrow keys to move through them, Enter to open one or the full results page.
import { h, replace, uid } from './dom.js';
import { get } from './api.js';
import { navigate } from './router.js';
import type { SearchResult } from './types.js';

const DEBOUNCE_MS = 150;

export function searchBox(): HTMLElement {
  const listId = uid('suggest');
  const input = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'Search videos and channels',
    autocomplete: 'off',
    maxlength: 200,
    role: 'combobox',
    'aria-label': 'Search',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'suggestions', 'aria-label': 'Suggestions' });
  list.hidden = true;
  const form = h('form', { class: 'search', role: 'search' }, input, list);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inflight: AbortController | null = null;
  let active = -1;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const options = () => [...list.querySelectorAll<HTMLElement>('[role="option"]')];
  const highlight = (i: number) => {
    const opts = options();
    active = opts.length ? (i + opts.length) % opts.length : -1;
    opts.forEach((o, k) => o.setAttribute('aria-selected', String(k === active)));
    if (active >= 0) input.setAttribute('aria-activedescendant', opts[active].id);
  };

  async function suggest(q: string): Promise<void> {
    inflight?.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const enc = encodeURIComponent(q);
    try {
      const [videos, users] = await Promise.all([
        get<SearchResult>(`/api/v1/search?type=video&limit=6&q=${enc}`, ctl.signal),
        get<SearchResult>(`/api/v1/search?type=user&limit=3&q=${enc}`, ctl.signal),
      ]);
      if (ctl.signal.aborted || input.value.trim() !== q) return;
      const items = [
        ...users.items.map((u) => ({ href: `/u/${encodeURIComponent(u.username ?? '')}`, text: u.username ?? '', kind: 'Channel' })),
        ...videos.items.map((v) => ({ href: `/watch/${v.id}`, text: v.title ?? '', kind: v.username ?? 'Video' })),
      ];
      replace(
        list,
        items.length
          ? items.map((it) => h('li', { role: 'option', id: uid('opt'), 'aria-selected': 'false', 'data-href': it.href }, h('span', null, it.text), h('span', { class: 'meta' }, it.kind)))
          : h('li', { class: 'meta', role: 'presentation' }, `No results for “${q}”`),
      );
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      active = -1;
    } catch {
      // An aborted or failed suggestion leaves the list as it was.
    }
  }

  input.addEventListener('input', () => {
    if (timer) clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      inflight?.abort();
      close();
      return;
    }
    timer = setTimeout(() => void suggest(q), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (list.hidden) return;
      e.preventDefault();
      highlight(active + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'Escape') {
      close();
    }
  });
  list.addEventListener('mousedown', (e) => {
    const opt = (e.target as HTMLElement).closest<HTMLElement>('[role="option"]');
    if (!opt) return;
    e.preventDefault();
    close();
    navigate(opt.dataset.href!);
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const opt = options()[active];
    close();
    if (opt) navigate(opt.dataset.href!);
    else if (input.value.trim()) navigate(`/search?q=${encodeURIComponent(input.value.trim())}`);
  });
  return form;
}
