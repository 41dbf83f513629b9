// History-API routing: same-origin links are handled in the page, the server answers every
// non-API path with index.html (src/web/web.routes.ts). Each page may return a dispose function
// that closes its sockets, event streams and timers when the user leaves it.
import { replace } from './dom.js';

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Page {
  title: string;
  el: HTMLElement;
  dispose?: () => void;
}

export type PageFn = (ctx: PageContext) => Page;

interface Route {
  pattern: RegExp;
  keys: string[];
  page: PageFn;
}

const routes: Route[] = [];
let notFound: PageFn | null = null;
let current: Page | null = null;
let outlet: HTMLElement | null = null;
let rendered = '';
const afterListeners: Array<() => void> = [];

export function route(path: string, page: PageFn): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/:(\w+)/g, (_m, k: string) => {
      keys.push(k);
      return '([^/]+)';
    })}/?$`,
  );
  routes.push({ pattern, keys, page });
}

export function fallback(page: PageFn): void {
  notFound = page;
}

export function onNavigate(fn: () => void): void {
  afterListeners.push(fn);
}

let first = true;

function render(): void {
  if (!outlet) return;
  current?.dispose?.();
  rendered = location.pathname + location.search;
  const path = decodeURI(location.pathname);
  const query = new URLSearchParams(location.search);
  let page: Page | null = null;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => (params[k] = m[i + 1]));
    page = r.page({ params, query });
    break;
  }
  page ??= notFound!({ params: {}, query });
  current = page;
  replace(outlet, page.el);
  document.title = page.title ? `${page.title} · Nova` : 'Nova';
  // Move focus to the new page's heading so keyboard and screen-reader users land on it; not on
  // the first load, where the first Tab must reach the skip link.
  const heading = outlet.querySelector<HTMLElement>('h1');
  if (heading && !first) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
  first = false;
  for (const fn of afterListeners) fn();
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render();
}

/** Re-renders the current page (after sign-in/out). */
export function refresh(): void {
  render();
}

export function startRouter(el: HTMLElement): void {
  outlet = el;
  window.addEventListener('popstate', () => {
    // A jump to an anchor on the same page also fires popstate: keep the page as it is.
    if (location.pathname + location.search !== rendered) render();
  });
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || /^\/(api|docs|metrics|healthz|readyz)(\/|$)/.test(url.pathname)) return;
    if (url.hash && url.pathname + url.search === location.pathname + location.search) return;
    ev.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
  });
  render();
}

/** A page whose code is fetched when first visited (keeps big libraries out of the first load). */
export function lazy(load: () => Promise<PageFn>): PageFn {
  return (ctx) => {
    const initialLoad = first;
    const el = document.createElement('div');
    el.append(Object.assign(document.createElement('p'), { className: 'loading', textContent: 'Loading…' }));
    const page: Page = { title: '', el };
    let disposed = false;
    load().then(
      (fn) => {
        if (disposed) return;
        const real = fn(ctx);
        page.dispose = real.dispose;
        el.replaceWith(real.el);
        page.el = real.el;
        if (real.title) document.title = `${real.title} · Nova`;
        const heading = real.el.querySelector<HTMLElement>('h1');
        if (heading && !initialLoad) {
          heading.tabIndex = -1;
          heading.focus({ preventScroll: true });
        }
      },
      () => {
        el.textContent = 'This page could not be loaded. Check your connection and reload.';
      },
    );
    return {
      title: page.title,
      el,
      dispose: () => {
        disposed = true;
        page.dispose?.();
      },
    };
  };
}
