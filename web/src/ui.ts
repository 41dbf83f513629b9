// Small reusable pieces of the pages: labelled fields, notices, progress bars, copy fields and
// video cards. Accessibility lives here once: labels, live regions, progressbar roles.
import { h, replace, uid, type Attrs } from './dom.js';
import { count, duration, ago } from './format.js';
import type { Video } from './types.js';

/** A labelled input; returns the wrapper and the input. */
export function field(label: string, attrs: Attrs = {}, hint?: string): { wrap: HTMLElement; input: HTMLInputElement } {
  const id = uid('in');
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', { id, 'aria-describedby': hintId, ...attrs });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
  return { wrap, input };
}

export function textarea(label: string, attrs: Attrs = {}): { wrap: HTMLElement; input: HTMLTextAreaElement } {
  const id = uid('ta');
  const input = h('textarea', { id, ...attrs });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input), input };
}

export function select(label: string, options: Array<[string, string]>, attrs: Attrs = {}): { wrap: HTMLElement; input: HTMLSelectElement } {
  const id = uid('sel');
  const input = h(
    'select',
    { id, ...attrs },
    options.map(([value, text]) => h('option', { value }, text)),
  );
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input), input };
}

/**
 * A message area that screen readers announce. `error` uses role=alert; the others role=status.
 * Empty until set, so it takes no space.
 */
export function notice(): { el: HTMLElement; error(msg: string): void; info(msg: string): void; ok(msg: string): void; clear(): void } {
  const el = h('div', { class: 'notice', 'aria-live': 'polite' });
  const show = (kind: string, msg: string) => {
    el.className = `notice ${kind}`;
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    el.textContent = msg;
  };
  return {
    el,
    error: (m) => show('error', m),
    info: (m) => show('info', m),
    ok: (m) => show('ok', m),
    clear: () => {
      el.className = 'notice';
      el.removeAttribute('role');
      el.textContent = '';
    },
  };
}

/** A labelled progress bar (0–100) with its value as text beside it. */
export function progressBar(label: string): { el: HTMLElement; set(value: number, text?: string): void; value(): number } {
  const id = uid('pb');
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-labelledby': id, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, fill);
  const valueText = h('span', { class: 'bar-value' }, '0 %');
  const caption = h('span', { class: 'bar-caption' });
  const el = h('div', { class: 'progress' }, h('div', { class: 'bar-head' }, h('span', { id }, label), valueText), bar, caption);
  let current = 0;
  return {
    el,
    set(value, text) {
      current = Math.max(0, Math.min(100, value));
      const shown = Math.floor(current);
      fill.style.width = `${current}%`;
      bar.setAttribute('aria-valuenow', String(shown));
      valueText.textContent = `${shown} %`;
      if (text !== undefined) caption.textContent = text;
      el.classList.toggle('done', current >= 100);
    },
    value: () => current,
  };
}

async function copyText(text: string, fallbackInput: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // The async clipboard needs a secure context (https or localhost); a LAN address over http
    // does not have one, so select the text and use the older copy command.
    fallbackInput.select();
    return document.execCommand('copy');
  }
}

/** A read-only value with a Copy button (and an optional show/hide toggle for secrets). */
export function copyField(label: string, value: string, opts: { secret?: boolean } = {}): HTMLElement {
  const id = uid('cp');
  const input = h('input', { id, readonly: true, value, type: opts.secret ? 'password' : 'text', spellcheck: 'false', autocomplete: 'off' });
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = h('button', { type: 'button', class: 'secondary', 'aria-label': `Copy ${label}` }, 'Copy');
  copy.addEventListener('click', async () => {
    const wasSecret = input.type === 'password';
    if (wasSecret) input.type = 'text';
    const ok = await copyText(input.value, input);
    if (wasSecret) input.type = 'password';
    status.textContent = ok ? 'Copied' : 'Copy failed: select the text and copy it';
    setTimeout(() => (status.textContent = ''), 2500);
  });
  const buttons: HTMLElement[] = [copy];
  if (opts.secret) {
    // The name follows the visible word (Show/Hide), so what a voice user says is what they see.
    const toggle = h('button', { type: 'button', class: 'secondary', 'aria-label': `Show ${label}` }, 'Show');
    toggle.addEventListener('click', () => {
      const show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      toggle.textContent = show ? 'Hide' : 'Show';
      toggle.setAttribute('aria-label', `${show ? 'Hide' : 'Show'} ${label}`);
    });
    buttons.unshift(toggle);
  }
  return h('div', { class: 'field copy' }, h('label', { for: id }, label), h('div', { class: 'row' }, input, ...buttons), status);
}

const STATUS_TEXT: Record<string, string> = {
  waiting_upload: 'Waiting for upload',
  uploading: 'Uploading',
  queued: 'Queued',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
  idle: 'Offline',
  live: 'Live',
  ended: 'Ended',
};

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge ${status.replace(/[^a-z_]/g, '')}` }, STATUS_TEXT[status] ?? status);
}

/** A video tile linking to its watch page. */
export function videoCard(
  v: Pick<Video, 'id' | 'title' | 'thumbnail_url' | 'duration_seconds' | 'created_at'> & { view_count?: number; owner_username?: string; status?: string },
  extra?: HTMLElement | null,
): HTMLElement {
  const thumb = v.thumbnail_url ? h('img', { src: v.thumbnail_url, alt: v.title, loading: 'lazy', decoding: 'async' }) : h('div', { class: 'thumb-empty', 'aria-hidden': 'true' }, '▶');
  const dur = duration(v.duration_seconds);
  const meta = [v.owner_username, v.view_count !== undefined ? count(v.view_count, 'view') : null, ago(v.created_at)].filter(Boolean).join(' · ');
  return h(
    'article',
    { class: 'card' },
    h(
      'a',
      { href: `/watch/${v.id}`, class: 'card-link' },
      h('div', { class: 'thumb' }, thumb, dur ? h('span', { class: 'duration' }, dur) : null, v.status && v.status !== 'ready' ? badge(v.status) : null),
      h('h3', { class: 'card-title' }, v.title),
    ),
    meta ? h('p', { class: 'meta' }, meta) : null,
    extra ?? null,
  );
}

export function empty(text: string, action?: HTMLElement): HTMLElement {
  return h('div', { class: 'empty' }, h('p', null, text), action ?? null);
}

/** Shows a loading line in el until the promise settles. */
export function loading(el: Element, text = 'Loading…'): void {
  replace(el, h('p', { class: 'loading', role: 'status' }, text));
}
