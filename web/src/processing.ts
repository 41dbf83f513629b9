// Live processing progress of one video: a bar and the pipeline's stages, fed by the server's
// Server-Sent Events (GET …/progress/stream), with polling as a fallback when the stream is refused.
import { h } from './dom.js';
import { get, withToken } from './api.js';
import type { Progress } from './types.js';
import { progressBar } from './ui.js';

const STAGES: Array<[string, string]> = [
  ['verify_upload', 'Verify upload'],
  ['extract_metadata', 'Read metadata'],
  ['select_tiers', 'Choose qualities'],
  ['transcode', 'Transcode'],
  ['generate_manifest', 'Write playlists'],
  ['upload_outputs', 'Store files'],
  ['update_database', 'Save'],
  ['publish', 'Publish'],
];

export interface ProcessingView {
  el: HTMLElement;
  dispose(): void;
}

export function processingView(videoId: string, onFinished: (p: Progress) => void): ProcessingView {
  const bar = progressBar('Processing');
  const items = new Map<string, HTMLLIElement>();
  const list = h(
    'ol',
    { class: 'stages', 'aria-label': 'Processing stages' },
    STAGES.map(([key, label]) => {
      const li = h('li', { 'data-stage': key }, label);
      items.set(key, li);
      return li;
    }),
  );
  const detail = h('p', { class: 'hint', role: 'status' });
  const el = h('div', { class: 'processing' }, bar.el, list, detail);

  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let finished = false;
  let best = 0;

  const show = (p: Progress) => {
    // Progress never goes backwards within an attempt; a retry starts a new attempt from the top.
    best = p.status === 'queued' ? p.progress : Math.max(best, p.progress);
    if (p.status === 'failed') best = p.progress;
    const stageIndex = STAGES.findIndex(([k]) => k === p.stage);
    STAGES.forEach(([key], i) => {
      const li = items.get(key)!;
      const done = p.status === 'ready' || (stageIndex >= 0 && i < stageIndex);
      const active = p.status !== 'ready' && i === stageIndex;
      li.classList.toggle('done', done);
      li.classList.toggle('active', active);
      if (active) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    let text: string;
    if (p.status === 'queued') text = p.queue_position ? `Queued: ${p.queue_position} ahead` : 'Queued';
    else if (p.status === 'ready') text = 'Ready to watch';
    else if (p.status === 'failed') text = `Failed${p.error ? `: ${p.error}` : ''}`;
    else if (p.status === 'waiting_upload') text = 'Waiting for the upload to finish';
    else text = STAGES.find(([k]) => k === p.stage)?.[1] ?? 'Processing';
    bar.set(p.status === 'ready' ? 100 : best, text);
    el.classList.toggle('failed', p.status === 'failed');
    detail.textContent = p.attempts && p.attempts > 1 && p.status !== 'ready' ? `Attempt ${p.attempts}` : '';
    if ((p.status === 'ready' || p.status === 'failed') && !finished) {
      finished = true;
      stop();
      onFinished(p);
    }
  };

  const poll = async () => {
    timer = null;
    try {
      show(await get<Progress>(`/api/v1/videos/${videoId}/progress`));
    } catch {
      // Keep polling through a network blip; the page shows the last known state.
    }
    if (!finished) timer = setTimeout(poll, 2000);
  };

  const stop = () => {
    source?.close();
    source = null;
    if (timer) clearTimeout(timer);
    timer = null;
  };

  if (typeof EventSource === 'function') {
    source = new EventSource(withToken(`/api/v1/videos/${videoId}/progress/stream`));
    const onEvent = (ev: MessageEvent) => {
      try {
        show(JSON.parse(ev.data as string) as Progress);
      } catch {
        // Ignore a malformed event; the next one carries the full state.
      }
    };
    source.addEventListener('progress', onEvent as EventListener);
    source.addEventListener('message', onEvent as EventListener);
    source.addEventListener('error', () => {
      // CLOSED means the server refused the stream (not a dropped connection, which the browser
      // retries by itself): fall back to polling.
      if (source?.readyState === EventSource.CLOSED && !finished) {
        source = null;
        void poll();
      }
    });
  } else {
    void poll();
  }

  return {
    el,
    dispose: () => {
      finished = true;
      stop();
    },
  };
}
