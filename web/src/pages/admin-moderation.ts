// Admin: content moderation. Hide, show again or delete any video, or delete any stream, always
// with a reason; the log below lists every action, newest first. A watch or live URL may be pasted
// instead of an id.
import { h, replace } from '../dom.js';
import { errorText, get, post } from '../api.js';
import { ago } from '../format.js';
import { field, notice, select, textarea } from '../ui.js';
import type { ModerationEntryJson } from '../../../src/moderation/moderation.schemas.js';

type Entry = ModerationEntryJson;

const ACTIONS: Record<Entry['action'], string> = { hide: 'Hidden', unhide: 'Shown again', delete: 'Deleted' };

/** An id, or the id in a pasted /watch/{id} or /live/{id} URL (which also says what it is). */
export function parseTarget(raw: string): { id: string; type?: 'video' | 'stream' } {
  const m = /\/(watch|live|embed)\/([A-Za-z0-9-]+)/.exec(raw);
  if (m) return { id: m[2], type: m[1] === 'live' ? 'stream' : 'video' };
  return { id: raw.trim() };
}

export function moderationSection(): { el: HTMLElement; dispose(): void } {
  const msg = notice();
  const log = h('div', { class: 'table-wrap' });
  const type = select(
    'What',
    [
      ['video', 'Video'],
      ['stream', 'Live stream'],
    ],
    { name: 'target-type' },
  );
  const target = field('Video or stream id (or its URL)', { name: 'target', required: true, maxlength: 300, autocomplete: 'off' });
  const action = select(
    'Action',
    [
      ['hide', 'Hide (only the owner and admins see it)'],
      ['unhide', 'Show again'],
      ['delete', 'Delete for good'],
    ],
    { name: 'action' },
  );
  const reason = textarea('Reason (kept in the moderation log)', { name: 'reason', required: true, maxlength: 500, rows: 2 });
  const form = h(
    'form',
    { class: 'stack card-panel' },
    h('h3', null, 'Moderate a video or stream'),
    h('div', { class: 'row wrap' }, type.wrap, target.wrap, action.wrap),
    reason.wrap,
    msg.el,
    h('button', { type: 'submit' }, 'Apply'),
  );

  const syncActions = () => {
    // A stream can only be deleted; its recordings are videos, moderated as such.
    for (const o of action.input.options) o.disabled = type.input.value === 'stream' && o.value !== 'delete';
    if (type.input.value === 'stream') action.input.value = 'delete';
  };
  type.input.addEventListener('change', syncActions);
  target.input.addEventListener('change', () => {
    const t = parseTarget(target.input.value);
    if (t.type) {
      type.input.value = t.type;
      syncActions();
    }
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void apply();
  });

  async function apply(): Promise<void> {
    msg.clear();
    const t = parseTarget(target.input.value);
    if (!t.id) return msg.error('Enter the id or URL of the video or stream.');
    if (!reason.input.value.trim()) return msg.error('Give a reason: it is kept in the moderation log.');
    try {
      const e = await post<Entry>('/api/v1/admin/moderation', { target_type: t.type ?? type.input.value, target_id: t.id, action: action.input.value, reason: reason.input.value });
      msg.ok(`${ACTIONS[e.action]}: “${e.target_title}”.`);
      reason.input.value = '';
      target.input.value = '';
      void loadLog();
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  async function loadLog(): Promise<void> {
    try {
      const page = await get<{ items: Entry[] }>('/api/v1/admin/moderation?limit=50');
      if (!page.items.length) {
        replace(log, h('p', { class: 'hint' }, 'No moderation actions yet.'));
        return;
      }
      replace(
        log,
        h(
          'table',
          null,
          h('caption', { class: 'sr-only' }, 'Moderation log'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['What', 'Action', 'Reason', 'Owner', 'By', 'When'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            null,
            page.items.map((e) =>
              h(
                'tr',
                null,
                h(
                  'th',
                  { scope: 'row' },
                  e.action === 'delete' ? e.target_title : h('a', { href: e.target_type === 'video' ? `/watch/${e.target_id}` : `/live/${e.target_id}` }, e.target_title),
                  h('span', { class: 'hint' }, ` (${e.target_type})`),
                ),
                h('td', null, ACTIONS[e.action]),
                h('td', null, e.reason),
                h('td', null, e.target_owner ?? '—'),
                h('td', null, e.moderator ?? '—'),
                h('td', null, h('time', { datetime: e.created_at, title: new Date(e.created_at).toLocaleString() }, ago(e.created_at))),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(log, h('p', { class: 'hint' }, errorText(err)));
    }
  }

  void loadLog();
  const el = h('section', { class: 'block', 'aria-labelledby': 'mod-h' }, h('h2', { id: 'mod-h' }, 'Moderation'), form, h('h3', null, 'Moderation log'), log);
  return { el, dispose() {} };
}
