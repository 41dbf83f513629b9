// Admin: experiments — create one (variants and weights, traffic, metric), list them, and read
// the results: a per-variant table (rate, lift, 95 % CI, p-value), the SRM check and a lift chart.
import { h, replace } from '../dom.js';
import { errorText, get, post } from '../api.js';
import { pct } from '../format.js';
import { intervalChart } from '../chart.js';
import type { Experiment, ExperimentResults } from '../types.js';
import { field, notice, select } from '../ui.js';

const REFRESH_MS = 10_000;

function variantRow(key: string, weight: number, onRemove: (row: HTMLElement) => void): HTMLElement {
  const k = field('Variant key', { name: 'variant-key', required: true, value: key, pattern: '[A-Za-z0-9_.\\-]+', maxlength: 64 });
  const w = field('Weight', { name: 'variant-weight', type: 'number', required: true, min: 0, step: 'any', value: weight });
  const remove = h('button', { type: 'button', class: 'link small', 'aria-label': 'Remove variant' }, 'Remove');
  const row = h('div', { class: 'row wrap variant' }, k.wrap, w.wrap, remove);
  remove.addEventListener('click', () => onRemove(row));
  return row;
}

export function experimentsSection(): { el: HTMLElement; dispose(): void } {
  const list = h('div', { class: 'table-wrap' });
  const listMsg = notice();
  const results = h('div', { class: 'results' });
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  let shown: string | null = null;

  // ---- create ---------------------------------------------------------------------------
  const key = field('Experiment key', { name: 'key', required: true, pattern: '[A-Za-z0-9_.\\-]+', maxlength: 64, placeholder: 'feed-ranker-v2' });
  const metric = field('Metric', { name: 'metric', required: true, maxlength: 64, value: 'watch' });
  const metricType = select(
    'Metric type',
    [
      ['binary', 'Conversion (yes/no)'],
      ['numeric', 'Numeric value (mean)'],
    ],
    { name: 'metric_type' },
  );
  const traffic = field('Traffic %', { name: 'traffic_percent', type: 'number', required: true, min: 0, max: 100, step: 'any', value: 100 });
  const variants = h('div', { class: 'stack variants' });
  // Each row's labels carry its number, so screen readers can tell the rows apart.
  const relabel = () =>
    [...variants.children].forEach((row, i) => {
      const labels = row.querySelectorAll('label');
      labels[0].textContent = `Variant ${i + 1} key`;
      labels[1].textContent = `Variant ${i + 1} weight`;
      row.querySelector('button')?.setAttribute('aria-label', `Remove variant ${i + 1}`);
    });
  const removeRow = (row: HTMLElement) => {
    if (variants.childElementCount > 2) row.remove();
    else createMsg.error('An experiment needs at least two variants.');
    relabel();
  };
  variants.append(variantRow('control', 50, removeRow), variantRow('treatment', 50, removeRow));
  relabel();
  const addVariant = h('button', { type: 'button', class: 'secondary small' }, 'Add variant');
  addVariant.addEventListener('click', () => {
    variants.append(variantRow(`variant_${variants.childElementCount}`, 50, removeRow));
    relabel();
  });
  const createMsg = notice();
  const form = h(
    'form',
    { class: 'stack card-panel' },
    h('h3', null, 'New experiment'),
    h('div', { class: 'row wrap' }, key.wrap, metric.wrap, metricType.wrap, traffic.wrap),
    h('fieldset', null, h('legend', null, 'Variants (the first is the control)'), variants, addVariant),
    createMsg.el,
    h('button', { type: 'submit' }, 'Create experiment'),
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createMsg.clear();
    if (!form.checkValidity()) {
      const bad = form.querySelector<HTMLInputElement>(':invalid');
      createMsg.error(`Check "${bad?.labels?.[0]?.textContent ?? 'the form'}": ${bad?.validationMessage ?? 'it is invalid'}`);
      bad?.focus();
      return;
    }
    const body = {
      key: key.input.value.trim(),
      metric: metric.input.value.trim(),
      metric_type: metricType.input.value,
      traffic_percent: Number(traffic.input.value),
      variants: [...variants.querySelectorAll('.variant')].map((row) => {
        const [k, w] = row.querySelectorAll('input');
        return { key: k.value.trim(), weight: Number(w.value) };
      }),
    };
    try {
      await post('/api/v1/experiments', body);
      createMsg.ok(`Experiment ${body.key} created.`);
      await loadList();
      void showResults(body.key);
    } catch (err) {
      createMsg.error(errorText(err));
    }
  });

  // ---- list -----------------------------------------------------------------------------
  async function loadList(): Promise<void> {
    try {
      const res = await get<{ experiments: Experiment[] }>('/api/v1/experiments');
      if (disposed) return;
      if (!res.experiments.length) {
        replace(list, h('p', { class: 'hint' }, 'No experiments yet.'));
        return;
      }
      replace(
        list,
        h(
          'table',
          null,
          h('caption', { class: 'sr-only' }, 'Experiments'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Experiment', 'Metric', 'Traffic', 'Variants', 'Status', ''].map((c) => h('th', { scope: 'col', class: c === 'Traffic' ? 'num' : undefined }, c)),
            ),
          ),
          h(
            'tbody',
            null,
            res.experiments.map((x) => {
              const open = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Results of ${x.key}` }, 'Results');
              open.addEventListener('click', () => void showResults(x.key));
              return h(
                'tr',
                null,
                h('th', { scope: 'row' }, x.key),
                h('td', null, x.metric),
                h('td', { class: 'num' }, `${x.traffic_percent} %`),
                h('td', null, x.variants.map((v) => `${v.key} (${v.weight})`).join(', ')),
                h('td', null, x.status ?? ''),
                h('td', null, open),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      listMsg.error(errorText(err));
    }
  }

  // ---- results --------------------------------------------------------------------------
  async function showResults(k: string): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    shown = k;
    try {
      const r = await get<ExperimentResults>(`/api/v1/experiments/${encodeURIComponent(k)}/results`);
      if (disposed || shown !== k) return;
      paintResults(r);
    } catch (err) {
      replace(results, h('p', { class: 'notice error', role: 'alert' }, errorText(err)));
    }
    if (!disposed && shown === k) timer = setTimeout(() => void showResults(k), REFRESH_MS);
  }

  function paintResults(r: ExperimentResults): void {
    const numeric = (r as { metric_type?: string }).metric_type === 'numeric';
    const stop = h('button', { type: 'button', class: 'danger small' }, 'Stop experiment');
    const stopMsg = notice();
    stop.addEventListener('click', async () => {
      if (!confirm(`Stop ${r.key}? Users stop being assigned to variants.`)) return;
      try {
        await post(`/api/v1/experiments/${encodeURIComponent(r.key)}/stop`);
        stopMsg.ok('Stopped.');
        void loadList();
      } catch (err) {
        stopMsg.error(errorText(err));
      }
    });
    replace(
      results,
      h(
        'div',
        { class: 'card-panel stack' },
        h('div', { class: 'row spread' }, h('h3', null, `Results: ${r.key}`), stop),
        stopMsg.el,
        r.srm.flag
          ? h('p', { class: 'notice error', role: 'alert' }, `Sample ratio mismatch (p = ${r.srm.p_value.toPrecision(3)}): users are not split as configured, so these results are not trustworthy.`)
          : h('p', { class: 'hint' }, `Traffic split matches the weights (SRM p = ${r.srm.p_value.toPrecision(3)}).`),
        r.note ? h('p', { class: 'hint' }, r.note) : null,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            null,
            h('caption', { class: 'sr-only' }, `Results of ${r.key}`),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Variant', 'Users', 'Conversions', numeric ? 'Mean' : 'Rate', 'Lift', '95 % CI', 'p-value'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)),
              ),
            ),
            h(
              'tbody',
              null,
              r.variants.map((v, i) =>
                h(
                  'tr',
                  null,
                  h('th', { scope: 'row' }, v.key, i === 0 ? h('span', { class: 'hint' }, ' (control)') : null),
                  h('td', { class: 'num' }, v.users.toLocaleString()),
                  h('td', { class: 'num' }, v.conversions.toLocaleString()),
                  h('td', { class: 'num' }, numeric ? v.rate.toFixed(3) : pct(v.rate, 2)),
                  h('td', { class: 'num' }, i === 0 ? '–' : pct(v.lift)),
                  h('td', { class: 'num' }, i === 0 || v.ci_low === null ? '–' : `${pct(v.ci_low)} to ${pct(v.ci_high)}`),
                  h('td', { class: 'num' }, v.p_value === null ? '–' : v.p_value < 0.001 ? '< 0.001' : v.p_value.toFixed(3)),
                ),
              ),
            ),
          ),
        ),
        intervalChart(
          `Lift of each variant over ${r.variants[0]?.key ?? 'control'}, with 95 % confidence intervals`,
          r.variants.map((v, i) => ({ label: v.key, value: i === 0 ? null : v.lift, low: v.ci_low, high: v.ci_high })),
        ),
      ),
    );
  }

  const el = h('section', { class: 'block', 'aria-labelledby': 'exp-h' }, h('h2', { id: 'exp-h' }, 'Experiments'), listMsg.el, list, results, form);
  void loadList();
  return {
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
