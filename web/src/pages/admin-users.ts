// Admin: the instance's users, newest first, searchable by name; disable or enable an account and
// make or revoke an admin, each answered inline with the server's own words.
import { h, replace } from '../dom.js';
import { errorText, get, patch } from '../api.js';
import { ago } from '../format.js';
import { session } from '../session.js';
import { field, notice } from '../ui.js';
import type { AdminUserJson } from '../../../src/accounts/accounts.schemas.js';

type AdminUser = AdminUserJson;

const PAGE = 50;

export function usersSection(): { el: HTMLElement; dispose(): void } {
  const msg = notice();
  const table = h('div', { class: 'table-wrap' });
  const summary = h('p', { class: 'hint', role: 'status' });
  const search = field('Search users', { type: 'search', name: 'user-search', maxlength: 64, autocomplete: 'off' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more users');
  const form = h('form', { class: 'row wrap', role: 'search' }, search.wrap, h('button', { type: 'submit' }, 'Search'));
  let users: AdminUser[] = [];
  let total = 0;
  let query = '';
  let debounce: ReturnType<typeof setTimeout> | null = null;
  let seq = 0;

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(search.input.value.trim(), 0);
  });
  search.input.addEventListener('input', () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void load(search.input.value.trim(), 0), 250);
  });
  more.addEventListener('click', () => void load(query, users.length));

  async function load(q: string, offset: number): Promise<void> {
    const mine = ++seq;
    try {
      const qs = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (q) qs.set('q', q);
      const page = await get<{ items: AdminUser[]; total: number }>(`/api/v1/admin/users?${qs}`);
      if (mine !== seq) return;
      query = q;
      users = offset === 0 ? page.items : [...users, ...page.items];
      total = page.total;
      paint();
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  async function change(u: AdminUser, body: { disabled?: boolean; role?: 'user' | 'admin' }, done: string): Promise<void> {
    msg.clear();
    try {
      const updated = await patch<AdminUser>(`/api/v1/admin/users/${encodeURIComponent(u.id)}`, body);
      users = users.map((x) => (x.id === u.id ? updated : x));
      paint();
      msg.ok(done);
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  function paint(): void {
    summary.textContent = query ? `${total} user${total === 1 ? '' : 's'} matching “${query}”` : `${total} user${total === 1 ? '' : 's'}`;
    more.hidden = users.length >= total;
    if (!users.length) {
      replace(table, h('p', { class: 'hint' }, query ? 'No user matches this search.' : 'No users yet.'));
      return;
    }
    replace(
      table,
      h(
        'table',
        { class: 'users' },
        h('caption', { class: 'sr-only' }, 'Users'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['User', 'Role', 'Status', 'Joined', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          users.map((u) => {
            const self = u.id === session.user?.id;
            const toggle = h(
              'button',
              { type: 'button', class: u.disabled ? 'small' : 'small danger', disabled: self, 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.username}` },
              u.disabled ? 'Enable' : 'Disable',
            );
            toggle.addEventListener(
              'click',
              () =>
                void change(u, { disabled: !u.disabled }, u.disabled ? `${u.username} can sign in again.` : `${u.username} is disabled: signed out everywhere, and cannot sign in, upload or stream.`),
            );
            const role = h(
              'button',
              { type: 'button', class: 'small secondary', disabled: self, 'aria-label': u.role === 'admin' ? `Revoke admin from ${u.username}` : `Make admin: ${u.username}` },
              u.role === 'admin' ? 'Revoke admin' : 'Make admin',
            );
            role.addEventListener(
              'click',
              () => void change(u, { role: u.role === 'admin' ? 'user' : 'admin' }, u.role === 'admin' ? `${u.username} is no longer an admin.` : `${u.username} is now an admin.`),
            );
            return h(
              'tr',
              { 'data-user': u.username },
              h('th', { scope: 'row' }, h('a', { href: `/u/${encodeURIComponent(u.username)}` }, u.username), self ? h('span', { class: 'hint' }, ' (you)') : null),
              h('td', null, u.role === 'admin' ? 'Admin' : 'User'),
              h('td', null, u.disabled ? h('span', { class: 'badge failed' }, 'Disabled') : 'Active'),
              h('td', null, h('time', { datetime: u.created_at, title: new Date(u.created_at).toLocaleString() }, ago(u.created_at))),
              h('td', null, h('div', { class: 'row' }, toggle, role)),
            );
          }),
        ),
      ),
    );
  }

  void load('', 0);
  const el = h('section', { class: 'block', 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h' }, 'Users'), form, summary, msg.el, table, more);
  return {
    el,
    dispose: () => {
      if (debounce) clearTimeout(debounce);
    },
  };
}
