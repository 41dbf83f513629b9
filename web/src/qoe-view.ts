// Playback-quality dashboard: headline numbers, startup (p50/p95) and rebuffering over time, and
// the rendition mix, for one video (creators) or the whole instance (admins, by day).
import { h, replace } from './dom.js';
import { errorText, get } from './api.js';
import { legend, lineChart } from './chart.js';
import { pct } from './format.js';
import type { QoeSummary } from './types.js';
import { loading } from './ui.js';

const WINDOWS: Array<[string, string]> = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
];

export function qoeView(path: string, title: string, initial = '24h'): { el: HTMLElement; dispose(): void } {
  const body = h('div', { class: 'qoe-body' });
  const picker = h(
    'select',
    { id: `qoe-window-${title.replace(/\W/g, '')}` },
    WINDOWS.map(([v, label]) => h('option', { value: v, selected: v === initial }, label)),
  );
  const el = h('section', { class: 'qoe', 'aria-label': title }, h('div', { class: 'row spread' }, h('h2', null, title), h('label', null, 'Window ', picker)), body);
  let disposed = false;
  const load = async () => {
    loading(body);
    try {
      const q = await get<QoeSummary>(`${path}?window=${picker.value}`);
      if (!disposed) replace(body, render(q));
    } catch (err) {
      if (!disposed) replace(body, h('p', { class: 'notice error', role: 'alert' }, errorText(err)));
    }
  };
  picker.addEventListener('change', () => void load());
  void load();
  return { el, dispose: () => (disposed = true) };
}

function render(q: QoeSummary): HTMLElement {
  const points = q.hours ?? q.days ?? [];
  const t = (p: { start: string }) => new Date(p.start).getTime();
  const range: [string, string] = points.length ? [new Date(points[0]!.start).toLocaleString(), new Date(points[points.length - 1]!.start).toLocaleString()] : ['', ''];
  const startup = [
    { name: 'Startup p50', className: 'series-1', points: points.filter((p) => p.startup_ms.p50 !== null).map((p): [number, number] => [t(p), p.startup_ms.p50!]) },
    { name: 'Startup p95', className: 'series-2', points: points.filter((p) => p.startup_ms.p95 !== null).map((p): [number, number] => [t(p), p.startup_ms.p95!]) },
  ];
  const rebuffer = [{ name: 'Rebuffer ratio (%)', className: 'series-3', points: points.map((p): [number, number] => [t(p), p.rebuffer_ratio * 100]) }];
  const mix = h(
    'ul',
    { class: 'rendition-mix', 'aria-label': 'Rendition mix' },
    q.renditions.map((r) =>
      h(
        'li',
        null,
        h('span', { class: 'mix-label' }, `${r.height}p`),
        h('span', { class: 'mix-bar', style: { width: `${Math.max(1, r.share_of_time * 100)}%` } }),
        h('span', { class: 'mix-value' }, pct(r.share_of_time)),
      ),
    ),
  );
  return h(
    'div',
    null,
    h(
      'ul',
      { class: 'stats qoe-stats' },
      stat('Sessions', String(q.sessions)),
      stat('Startup p50', q.startup_ms.p50 === null ? '–' : `${q.startup_ms.p50} ms`),
      stat('Startup p95', q.startup_ms.p95 === null ? '–' : `${q.startup_ms.p95} ms`),
      stat('Rebuffer ratio', pct(q.rebuffer_ratio, 2)),
      stat('Rebuffers', String(q.rebuffers)),
      stat('Rebuffers per hour', q.rebuffers_per_hour.toFixed(1)),
      stat('Sessions with errors', pct(q.error_sessions_ratio)),
      stat('Average bitrate', q.avg_bitrate_kbps === null ? '–' : `${Math.round(q.avg_bitrate_kbps)} kbps`),
      stat('Rendition switches', String(q.level_switches)),
    ),
    h('h3', null, 'Startup time'),
    lineChart('Startup time p50 and p95 over time', startup, ' ms', range),
    legend(startup),
    h('h3', null, 'Rebuffering'),
    lineChart('Rebuffer ratio over time', rebuffer, '%', range),
    h('h3', null, 'Rendition mix'),
    q.renditions.length ? mix : h('p', { class: 'meta' }, 'No viewing time yet.'),
  );
}

function stat(label: string, value: string): HTMLElement {
  return h('li', null, h('strong', null, value), ' ', h('span', { class: 'meta' }, label));
}
