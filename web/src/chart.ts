// Small SVG charts for the admin pages: a time-series line chart (model latency) and an interval
// chart (experiment lift with confidence intervals). A charting library would be most of the
// bundle for two charts; these draw what is needed and scale with the container (viewBox).
import { h, s } from './dom.js';

export interface Series {
  name: string;
  /** CSS class giving the stroke colour (see styles.css .series-N). */
  className: string;
  points: Array<[number, number]>;
}

const W = 640;
const H = 220;
const PAD = { left: 52, right: 12, top: 12, bottom: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  const n = v / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

/**
 * A line per series over time (x = epoch ms). With fewer than two points there is nothing to draw:
 * the chart says so (`emptyText`) instead of drawing empty axes.
 */
export function lineChart(title: string, series: Series[], unit: string, xLabels?: [string, string], emptyText = 'No data yet'): SVGSVGElement {
  const all = series.flatMap((x) => x.points);
  if (all.length < 2) {
    const svg = s('svg', { viewBox: `0 0 ${W} 60`, class: 'chart empty', role: 'img', 'aria-label': `${title}: ${emptyText.toLowerCase()}` }, s('title', null, title));
    svg.append(s('text', { x: W / 2, y: 36, 'text-anchor': 'middle', class: 'chart-empty' }, emptyText));
    return svg;
  }
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title }, s('title', null, title));
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]));
  const yMax = niceMax(Math.max(...all.map((p) => p[1])) * 1.1);
  const sx = (x: number) => PAD.left + ((x - x0) / Math.max(1, x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / yMax) * (H - PAD.top - PAD.bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax / 4) * i;
    svg.append(
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: sy(v), y2: sy(v), class: 'grid-line' }),
      s('text', { x: PAD.left - 6, y: sy(v) + 4, 'text-anchor': 'end', class: 'axis' }, `${+v.toFixed(2)}${unit}`),
    );
  }
  const span = (x1 - x0) / 1000;
  svg.append(
    s('text', { x: PAD.left, y: H - 8, class: 'axis' }, xLabels?.[0] ?? `-${Math.round(span)} s`),
    s('text', { x: W - PAD.right, y: H - 8, 'text-anchor': 'end', class: 'axis' }, xLabels?.[1] ?? 'now'),
  );
  for (const ser of series) {
    if (!ser.points.length) continue;
    const d = ser.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: `series ${ser.className}`, fill: 'none' }));
  }
  return svg;
}

export function legend(series: Array<Pick<Series, 'name' | 'className'>>): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    series.map((x) => h('li', null, h('span', { class: `swatch ${x.className}`, 'aria-hidden': 'true' }), x.name)),
  );
}

export interface Interval {
  label: string;
  value: number | null;
  low: number | null;
  high: number | null;
}

/** Horizontal point-and-whisker rows around a zero line (lift vs control, as fractions). */
export function intervalChart(title: string, rows: Interval[]): SVGSVGElement {
  if (!rows.some((r) => r.value !== null)) {
    const svg = s('svg', { viewBox: `0 0 ${W} 60`, class: 'chart empty', role: 'img', 'aria-label': `${title}: no data yet` }, s('title', null, title));
    svg.append(s('text', { x: W / 2, y: 36, 'text-anchor': 'middle', class: 'chart-empty' }, 'No data yet'));
    return svg;
  }
  const rowH = 34;
  const height = PAD.top + rows.length * rowH + 28;
  const left = 110;
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart', role: 'img', 'aria-label': title }, s('title', null, title));
  const extent = Math.max(0.05, ...rows.flatMap((r) => [r.low, r.high, r.value].filter((v): v is number => v !== null && Number.isFinite(v)).map(Math.abs)));
  const max = niceMax(extent * 1.1);
  // Room on the right for the last tick's label, which is centred on the axis end.
  const right = 36;
  const sx = (v: number) => left + ((v + max) / (2 * max)) * (W - left - right);
  for (const v of [-max, -max / 2, 0, max / 2, max]) {
    svg.append(
      s('line', { x1: sx(v), x2: sx(v), y1: PAD.top, y2: height - 24, class: v === 0 ? 'zero-line' : 'grid-line' }),
      s('text', { x: sx(v), y: height - 8, 'text-anchor': 'middle', class: 'axis' }, `${v > 0 ? '+' : ''}${+(v * 100).toFixed(1)}%`),
    );
  }
  rows.forEach((r, i) => {
    const y = PAD.top + i * rowH + rowH / 2;
    svg.append(s('text', { x: left - 10, y: y + 4, 'text-anchor': 'end', class: 'label' }, r.label));
    if (r.value === null) {
      svg.append(s('text', { x: sx(0) + 8, y: y + 4, class: 'axis' }, 'control'));
      return;
    }
    const significant = r.low !== null && r.high !== null && (r.low > 0 || r.high < 0);
    const cls = significant ? (r.value > 0 ? 'win' : 'loss') : 'flat';
    if (r.low !== null && r.high !== null) {
      svg.append(s('line', { x1: sx(Math.max(-max, r.low)), x2: sx(Math.min(max, r.high)), y1: y, y2: y, class: `whisker ${cls}` }));
    }
    svg.append(s('circle', { cx: sx(Math.max(-max, Math.min(max, r.value))), cy: y, r: 5, class: `point ${cls}` }));
  });
  return svg;
}
