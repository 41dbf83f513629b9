// Shown for paths the app does not know.
import { h } from '../dom.js';
import type { Page } from '../router.js';

export function notFoundPage(): Page {
  return {
    title: 'Not found',
    el: h('section', { class: 'page narrow' }, h('h1', null, 'Page not found'), h('p', null, 'There is nothing at this address.'), h('a', { href: '/', class: 'button' }, 'Go to Discover')),
  };
}
