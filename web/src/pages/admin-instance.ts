// Admin: the instance itself. The first admin's checklist (name the instance, choose who may
// register, review the upload limits), the name and short description shown on the home page, the
// registration mode, and invite codes for an invite-only instance.
import { h, replace } from '../dom.js';
import { del, errorText, get, patch, post } from '../api.js';
import { ago, bytes } from '../format.js';
import { copyField, field, notice, select, textarea } from '../ui.js';
import { instanceChanged } from '../instance.js';
import type { InviteJson } from '../../../src/accounts/accounts.schemas.js';
import type { AdminInstanceJson, RegistrationMode } from '../../../src/instance/instance.schemas.js';

type Mode = RegistrationMode;
type Settings = AdminInstanceJson;
type Invite = InviteJson;

const MODES: Array<[Mode, string]> = [
  ['open', 'Open: anyone can sign up'],
  ['invite_only', 'Invite only: sign-up needs an invite code'],
  ['closed', 'Closed: nobody can sign up'],
];

export function instanceSection(): { el: HTMLElement; dispose(): void } {
  const checklist = h('div', { class: 'checklist' });
  const msg = notice();
  const name = field('Instance name', { name: 'instance-name', required: true, maxlength: 60 });
  const description = textarea('Short description (shown on the home page)', { name: 'instance-description', maxlength: 300, rows: 2 });
  const mode = select('Who may sign up', MODES, { name: 'registration-mode' });
  const limits = h('p', { class: 'hint' });
  const form = h(
    'form',
    { class: 'stack card-panel' },
    h('h3', null, 'Identity and sign-up'),
    name.wrap,
    description.wrap,
    mode.wrap,
    limits,
    msg.el,
    h('button', { type: 'submit' }, 'Save settings'),
  );
  const invitesMsg = notice();
  const invites = h('div', { class: 'table-wrap' });
  const newCode = h('div');
  const uses = field('Uses', { type: 'number', name: 'invite-uses', min: 1, max: 10000, value: '1', inputmode: 'numeric' });
  const days = field('Expires after (days)', { type: 'number', name: 'invite-days', min: 1, max: 365, value: '7', inputmode: 'numeric' }, 'Leave empty for no expiry.');
  const inviteForm = h(
    'form',
    { class: 'stack card-panel' },
    h('h3', null, 'Invite codes'),
    h('div', { class: 'row wrap' }, uses.wrap, days.wrap),
    invitesMsg.el,
    h('button', { type: 'submit' }, 'Create invite code'),
    newCode,
    invites,
  );

  function paint(s: Settings): void {
    name.input.value = s.name;
    description.input.value = s.description;
    mode.input.value = s.registration_mode;
    const l = s.upload_limits;
    limits.textContent = `Upload limits (server configuration): ${bytes(l.max_bytes)} per file, ${l.max_pending_per_user || 'any number of'} unfinished uploads per user, each kept ${Math.round(l.expiry_seconds / 3600)} h. Change them with UPLOAD_MAX_BYTES, UPLOAD_MAX_PENDING_PER_USER and UPLOAD_EXPIRY_SECONDS.`;
    const open = s.checklist.filter((c) => !c.done);
    replace(
      checklist,
      open.length === 0
        ? null
        : h(
            'div',
            { class: 'card-panel', role: 'region', 'aria-labelledby': 'checklist-h' },
            h('h3', { id: 'checklist-h' }, 'Getting started'),
            h(
              'ul',
              { class: 'stack' },
              s.checklist.map((c) =>
                h('li', { 'data-done': String(c.done) }, h('span', { 'aria-hidden': 'true' }, c.done ? '✓ ' : '○ '), c.label, h('span', { class: 'sr-only' }, c.done ? ' (done)' : ' (to do)')),
              ),
            ),
          ),
    );
  }

  async function load(): Promise<void> {
    try {
      paint(await get<Settings>('/api/v1/admin/instance'));
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void save();
  });

  async function save(): Promise<void> {
    msg.clear();
    try {
      const s = await patch<Settings>('/api/v1/admin/instance', { name: name.input.value, description: description.input.value, registration_mode: mode.input.value });
      paint(s);
      instanceChanged({ name: s.name, description: s.description, registration_mode: s.registration_mode });
      msg.ok('Settings saved.');
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  async function loadInvites(): Promise<void> {
    try {
      const list = await get<{ items: Invite[] }>('/api/v1/admin/invites');
      if (!list.items.length) {
        replace(invites, h('p', { class: 'hint' }, 'No invite codes yet.'));
        return;
      }
      replace(
        invites,
        h(
          'table',
          null,
          h('caption', { class: 'sr-only' }, 'Invite codes'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Code', 'Used', 'Expires', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            null,
            list.items.map((i) => {
              const revoke = h('button', { type: 'button', class: 'small secondary', 'aria-label': `Revoke invite ${i.code}` }, 'Revoke');
              revoke.addEventListener('click', async () => {
                try {
                  await del(`/api/v1/admin/invites/${encodeURIComponent(i.code)}`);
                  invitesMsg.ok('Invite code revoked.');
                  void loadInvites();
                } catch (err) {
                  invitesMsg.error(errorText(err));
                }
              });
              return h(
                'tr',
                null,
                h('th', { scope: 'row' }, h('code', null, i.code)),
                h('td', null, `${i.uses} of ${i.max_uses}`),
                h('td', null, i.expires_at ? h('time', { datetime: i.expires_at }, new Date(i.expires_at).toLocaleDateString()) : 'Never'),
                h('td', null, revoke),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      replace(invites, h('p', { class: 'hint' }, errorText(err)));
    }
  }

  inviteForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void createInvite();
  });

  async function createInvite(): Promise<void> {
    invitesMsg.clear();
    try {
      const body: Record<string, number> = { max_uses: Number(uses.input.value || 1) };
      if (days.input.value) body.expires_in_days = Number(days.input.value);
      const i = await post<Invite>('/api/v1/admin/invites', body);
      replace(newCode, copyField('New invite code', i.code));
      invitesMsg.ok(`Invite code created (${i.max_uses} use${i.max_uses === 1 ? '' : 's'}${i.expires_at ? `, expires ${ago(i.expires_at) || new Date(i.expires_at).toLocaleDateString()}` : ''}).`);
      void loadInvites();
    } catch (err) {
      invitesMsg.error(errorText(err));
    }
  }

  void load();
  void loadInvites();
  const el = h('section', { class: 'block', 'aria-labelledby': 'instance-h' }, h('h2', { id: 'instance-h' }, 'Instance'), checklist, form, inviteForm);
  return { el, dispose() {} };
}
