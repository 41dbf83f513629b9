// Admin: the served ONNX models (version, load time, latency percentiles), a latency chart sampled
// while the page is open, hot reload of a model, and the transcoding queue at a glance.
import { h, replace } from '../dom.js';
import { errorText, get, post } from '../api.js';
import { ago, ms } from '../format.js';
import { legend, lineChart, type Series } from '../chart.js';
import type { Model } from '../types.js';
import { field, notice, select } from '../ui.js';

const SAMPLE_MS = 5000;
const KEEP_SAMPLES = 120;

interface JobsStatus {
  counts?: Record<string, number>;
  running?: Array<{ video_id?: string; stage?: string | null; progress?: number; worker?: string | null }>;
}

export function modelsSection(): { el: HTMLElement; dispose(): void } {
  const msg = notice();
  const table = h('div', { class: 'table-wrap' });
  const chartBox = h('div', { class: 'chart-box' });
  const chartModel = select('Model', [], { name: 'chart-model' });
  const jobs = h('div', { class: 'jobs' });
  const history = new Map<string, Array<{ t: number; p50: number | null; p95: number | null; p99: number | null }>>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;

  const loadName = field('Model name', { name: 'model-name', required: true, pattern: '[A-Za-z0-9_.\\-]+', maxlength: 64 });
  const loadPath = field('Model file path (on the server)', { name: 'model-path', placeholder: 'models/ranker-v2.onnx' }, 'Leave empty to load the newest version on disk.');
  const loadMsg = notice();
  const loadForm = h(
    'form',
    { class: 'stack card-panel' },
    h('h3', null, 'Load or reload a model'),
    h('div', { class: 'row wrap' }, loadName.wrap, loadPath.wrap),
    loadMsg.el,
    h('button', { type: 'submit' }, 'Load model'),
  );
  loadForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void reload(loadName.input.value.trim(), loadPath.input.value.trim(), loadMsg);
  });

  async function reload(name: string, path: string, out: ReturnType<typeof notice>): Promise<void> {
    out.clear();
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      out.error('Enter the model name (letters, digits, . _ -).');
      return;
    }
    out.info(`Loading ${name}…`);
    try {
      const res = await post<{ model: Model; previous_version: number | string | null }>(`/api/v1/models/${encodeURIComponent(name)}/reload`, path ? { path } : {});
      const was = res.previous_version === null || res.previous_version === undefined ? '' : ` (was ${res.previous_version})`;
      out.ok(`${name} now serves version ${res.model.version}${was}.`);
      void sample();
    } catch (err) {
      out.error(errorText(err));
    }
  }

  function paintTable(models: Model[]): void {
    if (!models.length) {
      replace(table, h('p', { class: 'hint' }, 'No models are served yet. Load one below.'));
      return;
    }
    replace(
      table,
      h(
        'table',
        null,
        h('caption', { class: 'sr-only' }, 'Served models'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Model', 'Version', 'Loaded', 'Inferences', 'Avg', 'p50', 'p95', 'p99', ''].map((c, i) => h('th', { scope: 'col', class: i >= 3 && c ? 'num' : undefined }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          models.map((m) => {
            const again = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Reload ${m.name}` }, 'Reload');
            again.addEventListener('click', () => void reload(m.name, '', msg));
            return h(
              'tr',
              null,
              h('th', { scope: 'row', title: m.path }, m.name),
              h('td', null, String(m.version)),
              h('td', null, ago(m.loaded_at)),
              h('td', { class: 'num' }, m.inference_count.toLocaleString()),
              h('td', { class: 'num' }, ms(m.avg_latency_ms)),
              h('td', { class: 'num' }, ms(m.p50_ms)),
              h('td', { class: 'num' }, ms(m.p95_ms)),
              h('td', { class: 'num' }, ms(m.p99_ms)),
              h('td', null, again),
            );
          }),
        ),
      ),
    );
  }

  function paintChart(): void {
    const name = chartModel.input.value;
    const points = history.get(name) ?? [];
    const series: Series[] = [
      { name: 'p50', className: 'series-1', points: points.filter((p) => p.p50 !== null).map((p) => [p.t, p.p50!]) },
      { name: 'p95', className: 'series-2', points: points.filter((p) => p.p95 !== null).map((p) => [p.t, p.p95!]) },
      { name: 'p99', className: 'series-3', points: points.filter((p) => p.p99 !== null).map((p) => [p.t, p.p99!]) },
    ];
    replace(chartBox, lineChart(`Inference latency of ${name || 'the model'} over time`, series, ' ms', undefined, 'Collecting samples…'), legend(series));
  }

  async function sample(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    try {
      const res = await get<{ models: Model[] }>('/api/v1/models');
      if (disposed) return;
      const now = Date.now();
      for (const m of res.models) {
        const list = history.get(m.name) ?? [];
        list.push({ t: now, p50: m.p50_ms, p95: m.p95_ms, p99: m.p99_ms });
        if (list.length > KEEP_SAMPLES) list.shift();
        history.set(m.name, list);
      }
      const names = res.models.map((m) => m.name);
      const chosen = chartModel.input.value;
      if (names.join() !== [...chartModel.input.options].map((o) => o.value).join()) {
        replace(
          chartModel.input,
          names.map((n) => h('option', { value: n }, n)),
        );
        if (names.includes(chosen)) chartModel.input.value = chosen;
      }
      paintTable(res.models);
      paintChart();
    } catch (err) {
      msg.error(errorText(err));
    }
    try {
      const q = await get<JobsStatus>('/api/v1/jobs');
      if (!disposed) paintJobs(q);
    } catch {
      // The job queue view is optional on servers without it.
    }
    if (!disposed) timer = setTimeout(sample, SAMPLE_MS);
  }

  function paintJobs(q: JobsStatus): void {
    const counts = Object.entries(q.counts ?? {});
    replace(
      jobs,
      h('h3', null, 'Transcoding queue'),
      h(
        'ul',
        { class: 'stats' },
        counts.map(([k, v]) => h('li', null, h('strong', null, String(v)), ' ', k)),
      ),
      (q.running ?? []).length
        ? h(
            'ul',
            { class: 'plain' },
            (q.running ?? []).map((j) =>
              h('li', null, h('a', { href: `/watch/${j.video_id}` }, j.video_id ?? 'job'), ` · ${j.stage ?? ''} ${Math.floor(j.progress ?? 0)} %${j.worker ? ` · ${j.worker}` : ''}`),
            ),
          )
        : null,
    );
  }

  chartModel.input.addEventListener('change', paintChart);
  const el = h(
    'section',
    { class: 'block', 'aria-labelledby': 'models-h' },
    h('h2', { id: 'models-h' }, 'Models'),
    msg.el,
    table,
    h('div', { class: 'card-panel' }, h('div', { class: 'row spread' }, h('h3', null, 'Latency'), chartModel.wrap), chartBox),
    loadForm,
    jobs,
  );
  void sample();
  return {
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
