// Admin: the processing queue. Counts per state, the jobs running now, and the failed ones with
// their error and a retry button (fresh attempts; the server refuses a job that is not failed).
import { h, replace } from '../dom.js';
import { errorText, get, post } from '../api.js';
import { ago } from '../format.js';
import { notice } from '../ui.js';
import type { JobJson, JobsViewJson } from '../../../src/transcode/transcode.schemas.js';

type Job = JobJson;
type Jobs = JobsViewJson;

const REFRESH_MS = 5000;

export function jobsSection(): { el: HTMLElement; dispose(): void } {
  const msg = notice();
  const counts = h('p', { class: 'hint', role: 'status' });
  const running = h('div', { class: 'table-wrap' });
  const failed = h('div', { class: 'table-wrap' });
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;

  const videoLink = (j: Job) => (j.video_id ? h('a', { href: `/watch/${j.video_id}` }, j.video_id.slice(0, 8)) : '—');

  async function retry(j: Job): Promise<void> {
    msg.clear();
    try {
      await post(`/api/v1/jobs/${encodeURIComponent(j.id)}/retry`);
      msg.ok('Job queued again.');
      void load();
    } catch (err) {
      msg.error(errorText(err));
    }
  }

  async function load(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    try {
      const s = await get<Jobs>('/api/v1/jobs');
      if (disposed) return;
      counts.textContent = `Queue (${s.queue}): ${(['queued', 'running', 'retrying', 'failed', 'done'] as const).map((k) => `${s.counts[k] ?? 0} ${k}`).join(' · ')}`;
      replace(
        running,
        s.running.length
          ? h(
              'table',
              null,
              h('caption', { class: 'sr-only' }, 'Running jobs'),
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Video', 'Stage', 'Progress', 'Attempt'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                null,
                s.running.map((j) =>
                  h('tr', null, h('th', { scope: 'row' }, videoLink(j)), h('td', null, j.stage ?? '—'), h('td', null, `${j.progress} %`), h('td', null, `${j.attempts} of ${j.max_attempts}`)),
                ),
              ),
            )
          : h('p', { class: 'hint' }, 'Nothing is processing right now.'),
      );
      replace(
        failed,
        s.failed.length
          ? h(
              'table',
              null,
              h('caption', { class: 'sr-only' }, 'Failed jobs'),
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Video', 'Error', 'Attempts', 'Failed', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                null,
                s.failed.map((j) => {
                  const b = h('button', { type: 'button', class: 'small', 'aria-label': `Retry job ${j.id.slice(0, 8)}` }, 'Retry');
                  b.addEventListener('click', () => void retry(j));
                  return h(
                    'tr',
                    null,
                    h('th', { scope: 'row' }, videoLink(j)),
                    h('td', null, j.error ?? '—'),
                    h('td', null, `${j.attempts} of ${j.max_attempts}`),
                    h('td', null, ago(j.finished_at ?? j.created_at)),
                    h('td', null, b),
                  );
                }),
              ),
            )
          : h('p', { class: 'hint' }, 'No failed jobs.'),
      );
    } catch (err) {
      msg.error(errorText(err));
    }
    if (!disposed) timer = setTimeout(() => void load(), REFRESH_MS);
  }

  void load();
  const el = h(
    'section',
    { class: 'block', 'aria-labelledby': 'jobs-h' },
    h('h2', { id: 'jobs-h' }, 'Processing jobs'),
    counts,
    msg.el,
    h('h3', null, 'Running'),
    running,
    h('h3', null, 'Failed'),
    failed,
  );
  return {
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
