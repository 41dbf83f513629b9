// What the header needs to know about uploads, without loading the upload code (tus-js-client):
// the manager (uploads.ts) publishes here; the header indicator and the "leave page?" question read it.
import { h } from './dom.js';

export interface UploadSummary {
  /** Uploads sending right now. */
  sending: number;
  /** Uploads not finished (sending, paused or stopped by an error). */
  unfinished: number;
  sent: number;
  total: number;
}

let summary: UploadSummary = { sending: 0, unfinished: 0, sent: 0, total: 0 };
const listeners = new Set<() => void>();

export function publishUploads(next: UploadSummary): void {
  summary = next;
  for (const fn of listeners) fn();
}

window.addEventListener('beforeunload', (ev) => {
  if (summary.sending === 0) return;
  // The browser asks "leave site?" in its own words; the text set here is not shown any more.
  ev.preventDefault();
  ev.returnValue = '';
});

/** The small header link to the Upload page, shown while uploads are unfinished. */
export function uploadIndicator(): HTMLElement {
  const text = h('span');
  const fill = h('span', { class: 'mini-fill' });
  const el = h('a', { href: '/upload', class: 'upload-indicator', hidden: true }, h('span', { class: 'mini-bar', 'aria-hidden': 'true' }, fill), text);
  const paint = () => {
    const s = summary;
    el.hidden = s.unfinished === 0;
    const pct = s.total > 0 ? Math.floor((s.sent / s.total) * 100) : 0;
    fill.style.width = `${pct}%`;
    const what = s.sending > 0 ? `Uploading ${s.sending}` : `${s.unfinished} paused`;
    text.textContent = `${what} · ${pct} %`;
    el.setAttribute(
      'aria-label',
      `${s.sending > 0 ? `${s.sending} upload${s.sending === 1 ? '' : 's'} in progress` : `${s.unfinished} upload${s.unfinished === 1 ? '' : 's'} paused`}, ${pct} percent: open Upload`,
    );
  };
  listeners.add(paint);
  paint();
  return el;
}
