// Pages that need a signed-in user (or an admin) show this instead, with a way to sign in that
// brings the user back afterwards.
import { h } from './dom.js';
import type { Page } from './router.js';
import { session } from './session.js';

export function signInRequired(title: string, why: string): Page | null {
  if (session.user) return null;
  const next = encodeURIComponent(location.pathname + location.search);
  return {
    title,
    el: h(
      'section',
      { class: 'page narrow' },
      h('h1', null, title),
      h('p', null, why),
      h('div', { class: 'row' }, h('a', { href: `/signin?next=${next}`, class: 'button' }, 'Sign in'), h('a', { href: `/signup?next=${next}`, class: 'button secondary' }, 'Create an account')),
    ),
  };
}

export function adminRequired(title: string): Page | null {
  const needSignIn = signInRequired(title, 'Sign in with an admin account to see this page.');
  if (needSignIn) return needSignIn;
  if (session.isAdmin) return null;
  return { title, el: h('section', { class: 'page narrow' }, h('h1', null, title), h('p', null, 'Only admins can see this page.')) };
}
