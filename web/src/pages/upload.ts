// Upload a video: create it, send the file with tus (resumable, pausable; an interrupted upload
// is found again after a reload when the same file is chosen), then follow its processing live.
import * as tus from 'tus-js-client';
import { h, replace } from '../dom.js';
import { del, errorText, post } from '../api.js';
import { signInRequired } from '../guard.js';
import { bytes, duration } from '../format.js';
import { processingView, type ProcessingView } from '../processing.js';
import type { Page } from '../router.js';
import { session } from '../session.js';
import type { Video } from '../types.js';
import { field, notice, progressBar, textarea } from '../ui.js';

interface CreateResult {
  video: Video;
  upload: { url: string; protocol: string; max_size?: number };
}

interface StoredUpload {
  uploadUrl?: string;
  urlStorageKey: string;
  size: number | null;
  creationTime?: string;
  metadata?: Record<string, string>;
  parallelUploadUrls?: string[];
}

/** Big enough to be quick, small enough that a pause or a dropped connection loses little. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000];

// The fingerprint ties an unfinished upload to this user and this exact file (not to the
// endpoint, which is per video and unknown until the file is matched).
function fingerprint(file: File | Blob): Promise<string> {
  const f = file as File;
  return Promise.resolve(['nova', session.user?.id ?? 'anon', f.name, f.type, f.size, f.lastModified].join('-'));
}

function titleFromName(name: string): string {
  return name.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ').trim().slice(0, 200) || 'Untitled video';
}

async function unfinishedUploads(): Promise<StoredUpload[]> {
  const all = (await tus.defaultOptions.urlStorage.findAllUploads()) as StoredUpload[];
  const prefix = `tus::nova-${session.user?.id}-`;
  return all.filter((u) => u.urlStorageKey.startsWith(prefix));
}

export function uploadPage(): Page {
  const title = 'Upload a video';
  const guard = signInRequired(title, 'Sign in to upload videos.');
  if (guard) return guard;

  const file = field('Video file', { type: 'file', accept: 'video/*,.mkv,.mov,.mp4,.webm', name: 'file', required: true });
  const name = field('Title', { name: 'title', required: true, maxlength: 200 });
  const description = textarea('Description (optional)', { name: 'description', rows: 3, maxlength: 5000 });
  const resumeNote = h('p', { class: 'hint', role: 'status' });
  const msg = notice();
  const start = h('button', { type: 'submit' }, 'Upload');
  const form = h('form', { class: 'stack card-panel' }, file.wrap, resumeNote, name.wrap, description.wrap, msg.el, start);

  const pendingList = h('div', { class: 'pending' });
  const progressArea = h('div', { class: 'stack' });
  const el = h('section', { class: 'page narrow' }, h('h1', null, title), pendingList, form, progressArea);

  let upload: tus.Upload | null = null;
  let previous: StoredUpload | null = null;
  let processing: ProcessingView | null = null;
  let disposed = false;

  async function showPending(): Promise<void> {
    const pending = await unfinishedUploads();
    if (disposed || pending.length === 0) {
      replace(pendingList);
      return;
    }
    replace(pendingList, h('div', { class: 'card-panel' },
      h('h2', null, 'Unfinished uploads'),
      h('p', { class: 'hint' }, 'Choose the same file again to continue where it stopped.'),
      h('ul', { class: 'plain' }, pending.map((u) => {
        const discard = h('button', { type: 'button', class: 'secondary small' }, 'Discard');
        discard.addEventListener('click', async () => {
          if (u.uploadUrl) await tus.Upload.terminate(u.uploadUrl, { headers: { authorization: `Bearer ${session.token}` } }).catch(() => {});
          await tus.defaultOptions.urlStorage.removeUpload(u.urlStorageKey);
          void showPending();
        });
        return h('li', { class: 'row spread' },
          h('span', null, h('strong', null, u.metadata?.title ?? u.metadata?.filename ?? 'Video'), ' ', h('span', { class: 'hint' }, `${u.metadata?.filename ?? ''} · ${bytes(u.size ?? 0)}`)),
          discard);
      }))));
  }

  file.input.addEventListener('change', async () => {
    msg.clear();
    previous = null;
    resumeNote.textContent = '';
    start.textContent = 'Upload';
    const f = file.input.files?.[0];
    if (!f) return;
    const probe = new tus.Upload(f, { fingerprint });
    const found = (await probe.findPreviousUploads()) as StoredUpload[];
    previous = found.find((p) => p.uploadUrl) ?? null;
    if (previous) {
      name.input.value = previous.metadata?.title ?? titleFromName(f.name);
      resumeNote.textContent = `This file was partly uploaded before: "${name.input.value}". It will continue where it stopped.`;
      start.textContent = 'Resume upload';
    } else if (!name.input.value) {
      name.input.value = titleFromName(f.name);
    }
  });

  function runUpload(f: File, opts: { endpoint?: string; previousUpload?: StoredUpload; videoId: string; title: string }): void {
    const bar = progressBar('Upload');
    const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause');
    const status = notice();
    const watch = h('a', { href: `/watch/${opts.videoId}`, class: 'button secondary' }, 'Open watch page');
    const procSlot = h('div');
    replace(progressArea, h('div', { class: 'card-panel stack' },
      h('h2', null, opts.title),
      bar.el,
      h('div', { class: 'row' }, pause, watch),
      status.el,
      procSlot));

    let paused = false;
    let lastTime = performance.now();
    let lastBytes = 0;
    let rate = 0;

    upload = new tus.Upload(f, {
      endpoint: opts.endpoint,
      fingerprint,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      headers: { authorization: `Bearer ${session.token}` },
      metadata: { filename: f.name, filetype: f.type || 'application/octet-stream', title: opts.title, video_id: opts.videoId },
      onProgress(sent, total) {
        const now = performance.now();
        if (now - lastTime > 1000) {
          // A smoothed rate keeps the time-left estimate from jumping around.
          const inst = ((sent - lastBytes) * 1000) / (now - lastTime);
          rate = rate ? rate * 0.7 + inst * 0.3 : inst;
          lastTime = now;
          lastBytes = sent;
        }
        const left = rate > 0 ? ` · ${duration((total - sent) / rate)} left` : '';
        bar.set(total ? (sent / total) * 100 : 0, `${bytes(sent)} of ${bytes(total)}${rate > 0 ? ` · ${bytes(rate)}/s` : ''}${left}`);
      },
      onSuccess() {
        upload = null;
        bar.set(100, `${bytes(f.size)} uploaded`);
        pause.remove();
        status.ok('Upload complete. Processing has started.');
        processing = processingView(opts.videoId, (p) => {
          if (p.status === 'ready') {
            status.ok('Your video is ready.');
            watch.textContent = 'Watch now';
            watch.className = 'button';
          } else {
            status.error(`Processing failed${p.error ? `: ${p.error}` : '.'}`);
          }
        });
        replace(procSlot, processing.el);
        void showPending();
      },
      onError(err) {
        const detail = String((err as { originalResponse?: { getBody(): string } }).originalResponse?.getBody?.() ?? '');
        let text = err.message.replace(/^tus: /, '').split(', originated from')[0];
        try {
          text = (JSON.parse(detail) as { detail?: string }).detail ?? text;
        } catch {
          // Not a problem+json body: keep tus-js-client's message.
        }
        status.error(`Upload stopped: ${text}. Press Resume to try again.`);
        paused = true;
        pause.textContent = 'Resume';
        pause.setAttribute('aria-pressed', 'true');
      },
    });
    if (opts.previousUpload) upload.resumeFromPreviousUpload(opts.previousUpload as tus.PreviousUpload);

    pause.addEventListener('click', () => {
      if (!upload) return;
      if (paused) {
        paused = false;
        status.clear();
        upload.start();
      } else {
        paused = true;
        void upload.abort();
        status.info('Paused. You can resume now, or later after reloading this page.');
      }
      pause.textContent = paused ? 'Resume' : 'Pause';
      pause.setAttribute('aria-pressed', String(paused));
    });
    upload.start();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const f = file.input.files?.[0];
    if (!f) {
      msg.error('Choose a video file to upload.');
      file.input.focus();
      return;
    }
    const t = name.input.value.trim();
    if (!t) {
      msg.error('Give the video a title.');
      name.input.focus();
      return;
    }
    if (upload) await upload.abort();
    if (previous?.uploadUrl) {
      runUpload(f, { previousUpload: previous, videoId: previous.metadata?.video_id ?? '', title: t });
      form.reset();
      previous = null;
      return;
    }
    start.disabled = true;
    try {
      const created = await post<CreateResult>('/api/v1/videos', { title: t, description: description.input.value.trim() || undefined });
      if (created.upload.max_size && f.size > created.upload.max_size) {
        // The video was made for this file: remove it rather than leave an empty one behind.
        await del(`/api/v1/videos/${created.video.id}`).catch(() => {});
        msg.error(`This file is ${bytes(f.size)}; the largest upload allowed is ${bytes(created.upload.max_size)}.`);
        return;
      }
      runUpload(f, { endpoint: created.upload.url, videoId: created.video.id, title: t });
      form.reset();
    } catch (err) {
      msg.error(errorText(err));
    } finally {
      start.disabled = false;
      start.textContent = 'Upload';
      resumeNote.textContent = '';
    }
  });

  void showPending();
  return {
    title,
    el,
    dispose() {
      disposed = true;
      // Leaving the page pauses the upload; its place is kept for resuming later.
      if (upload) void upload.abort();
      processing?.dispose();
    },
  };
}
