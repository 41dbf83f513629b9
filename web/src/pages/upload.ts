// Upload videos: choose or drop one file or several; each gets a video and is sent with tus by the
// app's upload manager (uploads.ts), so it keeps going while the user browses elsewhere. Title,
// description, tags and visibility can be changed while it uploads; then processing is followed live.
// An interrupted upload is found again after a reload when the same file is chosen.
import { h, replace } from '../dom.js';
import { del, errorText, patch, post } from '../api.js';
import { signInRequired } from '../guard.js';
import { bytes, duration } from '../format.js';
import { processingView, type ProcessingView } from '../processing.js';
import type { Page } from '../router.js';
import type { CreateVideoResultJson } from '../../../src/videos/videos.schemas.js';
import type { Video, Visibility } from '../types.js';
import { field, notice, progressBar, select, textarea } from '../ui.js';
import { discardUpload, previousUploadOf, unfinishedUploads, uploads, type StoredUpload, type UploadJob } from '../uploads.js';

type CreateResult = CreateVideoResultJson;

const VISIBILITY: Array<[Visibility, string]> = [
  ['public', 'Public: listed everywhere'],
  ['unlisted', 'Unlisted: anyone with the link'],
  ['private', 'Private: only you'],
];

function titleFromName(name: string): string {
  return (
    name
      .replace(/\.[^.]+$/, '')
      .replace(/[_-]+/g, ' ')
      .trim()
      .slice(0, 200) || 'Untitled video'
  );
}

interface JobCard {
  el: HTMLElement;
  paint(): void;
  dispose(): void;
}

/** One upload: its bar, pause/resume, a details form (PATCH while it uploads), then processing. */
function jobCard(job: UploadJob): JobCard {
  const heading = h('h2', null, job.title);
  const bar = progressBar('Upload');
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause');
  const status = notice();
  const watch = h('a', { href: `/watch/${job.videoId}`, class: 'button secondary' }, 'Open watch page');
  const procSlot = h('div');
  const details = h('details', { class: 'details' }, h('summary', null, 'Edit title, description, tags, visibility'));
  const el = h('div', { class: 'card-panel stack upload-job' }, heading, bar.el, h('div', { class: 'row' }, pause, watch), status.el, details, procSlot);
  let processing: ProcessingView | null = null;
  let painted: string | null = null;

  pause.addEventListener('click', () => {
    if (job.state === 'uploading') uploads.pause(job);
    else uploads.resume(job);
  });

  // The form is built when first opened, so the page has one "Title" field until the user asks.
  details.addEventListener('toggle', () => {
    if (!details.open || details.querySelector('form')) return;
    const title = field('Title', { value: job.title, maxlength: 200, required: true });
    const description = textarea('Description', { maxlength: 5000, rows: 3 });
    const tags = field('Tags', {}, 'Separated by commas');
    const visibility = select('Visibility', VISIBILITY);
    const msg = notice();
    const save = h('button', { type: 'submit' }, 'Save details');
    const form = h('form', { class: 'edit-form', 'aria-label': `Details of ${job.title}` }, title.wrap, description.wrap, tags.wrap, visibility.wrap, msg.el, save);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.clear();
      save.disabled = true;
      try {
        const updated = await patch<Video>(`/api/v1/videos/${encodeURIComponent(job.videoId)}`, {
          title: title.input.value,
          description: description.input.value,
          tags: tags.input.value
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          visibility: visibility.input.value,
        });
        job.title = updated.title;
        heading.textContent = updated.title;
        msg.ok('Saved.');
      } catch (err) {
        msg.error(errorText(err));
      } finally {
        save.disabled = false;
      }
    });
    details.append(form);
  });

  function paint(): void {
    const pct = job.total ? (job.sent / job.total) * 100 : 0;
    if (job.state === 'done') bar.set(100, `${bytes(job.total)} uploaded`);
    else {
      const left = job.rate > 0 && job.state === 'uploading' ? ` · ${bytes(job.rate)}/s · ${duration((job.total - job.sent) / job.rate)} left` : '';
      bar.set(pct, `${bytes(job.sent)} of ${bytes(job.total)}${left}`);
    }
    if (painted === job.state && job.state !== 'error') return;
    painted = job.state;
    pause.hidden = job.state === 'done';
    const paused = job.state === 'paused' || job.state === 'error';
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (job.state === 'uploading') status.clear();
    else if (job.state === 'paused') status.info('Paused. You can resume now, or later after reloading this page.');
    else if (job.state === 'error') status.error(`Upload stopped: ${job.error ?? 'unknown error'}. Press Resume to try again.`);
    else if (!processing) {
      status.ok('Upload complete. Processing has started.');
      processing = processingView(job.videoId, (p) => {
        if (p.status === 'ready') {
          status.ok('Your video is ready.');
          watch.textContent = 'Watch now';
          watch.className = 'button';
        } else {
          status.error(`Processing failed${p.error ? `: ${p.error}` : '.'}`);
        }
      });
      replace(procSlot, processing.el);
    }
  }
  paint();
  return { el, paint, dispose: () => processing?.dispose() };
}

export function uploadPage(): Page {
  const title = 'Upload videos';
  const guard = signInRequired(title, 'Sign in to upload videos.');
  if (guard) return guard;

  const file = field('Video file', { type: 'file', accept: 'video/*,.mkv,.mov,.mp4,.webm', name: 'file', required: true, multiple: true }, 'One file or several; you can also drop them here.');
  const drop = h('div', { class: 'dropzone' }, file.wrap);
  const name = field('Title', { name: 'title', required: true, maxlength: 200 });
  const description = textarea('Description (optional)', { name: 'description', rows: 3, maxlength: 5000 });
  const resumeNote = h('p', { class: 'hint', role: 'status' });
  const msg = notice();
  const start = h('button', { type: 'submit' }, 'Upload');
  const single = h('div', { class: 'stack' }, name.wrap, description.wrap);
  const form = h('form', { class: 'stack card-panel', 'aria-label': 'Upload' }, drop, resumeNote, single, msg.el, start);

  const pendingList = h('div', { class: 'pending' });
  const progressArea = h('section', { class: 'stack', 'aria-label': 'Uploads' });
  const el = h('section', { class: 'page narrow' }, h('h1', null, title), pendingList, form, progressArea);

  let previous: StoredUpload | null = null;
  let disposed = false;
  const cards = new Map<number, JobCard>();
  let states = '';

  async function showPending(): Promise<void> {
    // Uploads this app is already sending (or has paused) are shown below, not as "unfinished".
    const here = new Set(uploads.list().map((j) => j.videoId));
    const pending = (await unfinishedUploads()).filter((u) => !here.has(u.metadata?.video_id ?? ''));
    if (disposed) return;
    if (pending.length === 0) {
      replace(pendingList);
      return;
    }
    replace(
      pendingList,
      h(
        'div',
        { class: 'card-panel' },
        h('h2', null, 'Unfinished uploads'),
        h('p', { class: 'hint' }, 'Choose the same file again to continue where it stopped.'),
        h(
          'ul',
          { class: 'plain' },
          pending.map((u) => {
            const discard = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Discard ${u.metadata?.title ?? 'upload'}` }, 'Discard');
            discard.addEventListener('click', async () => {
              await discardUpload(u);
              void showPending();
            });
            return h(
              'li',
              { class: 'row spread' },
              h('span', null, h('strong', null, u.metadata?.title ?? u.metadata?.filename ?? 'Video'), ' ', h('span', { class: 'hint' }, `${u.metadata?.filename ?? ''} · ${bytes(u.size ?? 0)}`)),
              discard,
            );
          }),
        ),
      ),
    );
  }

  function paintJobs(): void {
    if (disposed) return;
    const jobs = uploads.list();
    for (const job of jobs) {
      let card = cards.get(job.key);
      if (!card) {
        card = jobCard(job);
        cards.set(job.key, card);
        progressArea.prepend(card.el);
      }
      card.paint();
    }
    const now = jobs.map((j) => j.state).join();
    if (now !== states) {
      states = now;
      void showPending();
    }
  }

  function resetForm(): void {
    form.reset();
    previous = null;
    resumeNote.textContent = '';
    start.textContent = 'Upload';
    single.hidden = false;
    name.input.required = true;
  }

  file.input.addEventListener('change', async () => {
    msg.clear();
    previous = null;
    resumeNote.textContent = '';
    start.textContent = 'Upload';
    const files = [...(file.input.files ?? [])];
    single.hidden = files.length > 1;
    // Several files take their titles from their names: the hidden Title field is not required then.
    name.input.required = files.length <= 1;
    if (files.length > 1) {
      resumeNote.textContent = `${files.length} files: each is titled after its file name; change the details while they upload.`;
      start.textContent = `Upload ${files.length} videos`;
      return;
    }
    const f = files[0];
    if (!f) return;
    previous = await previousUploadOf(f);
    if (previous) {
      name.input.value = previous.metadata?.title ?? titleFromName(f.name);
      resumeNote.textContent = `This file was partly uploaded before: "${name.input.value}". It will continue where it stopped.`;
      start.textContent = 'Resume upload';
    } else if (!name.input.value) {
      name.input.value = titleFromName(f.name);
    }
  });

  // Drag and drop: dropped files go into the file field, as if chosen there.
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (!ev.dataTransfer?.files.length) return;
    file.input.files = ev.dataTransfer.files;
    file.input.dispatchEvent(new Event('change'));
  });

  /** Creates the video for one file and hands the file to the upload manager; false if refused. */
  async function send(f: File, t: string, desc: string | undefined): Promise<boolean> {
    const prev = f === file.input.files?.[0] && previous ? previous : await previousUploadOf(f);
    if (prev?.uploadUrl) {
      uploads.start(f, { previous: prev, videoId: prev.metadata?.video_id ?? '', title: prev.metadata?.title ?? t });
      return true;
    }
    const created = await post<CreateResult>('/api/v1/videos', { title: t, description: desc });
    if (created.upload.max_size && f.size > created.upload.max_size) {
      // The video was made for this file: remove it rather than leave an empty one behind.
      await del(`/api/v1/videos/${created.video.id}`).catch(() => {});
      msg.error(`"${f.name}" is ${bytes(f.size)}; the largest upload allowed is ${bytes(created.upload.max_size)}.`);
      return false;
    }
    uploads.start(f, { endpoint: created.upload.url, videoId: created.video.id, title: t });
    return true;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const files = [...(file.input.files ?? [])];
    if (files.length === 0) {
      msg.error('Choose a video file to upload.');
      file.input.focus();
      return;
    }
    const t = name.input.value.trim();
    if (files.length === 1 && !t) {
      msg.error('Give the video a title.');
      name.input.focus();
      return;
    }
    start.disabled = true;
    try {
      for (const f of files) {
        const ok = files.length === 1 ? await send(f, t, description.input.value.trim() || undefined) : await send(f, titleFromName(f.name), undefined);
        if (!ok && files.length === 1) return;
      }
      resetForm();
    } catch (err) {
      msg.error(errorText(err));
    } finally {
      start.disabled = false;
    }
  });

  const unsubscribe = uploads.subscribe(paintJobs);
  paintJobs();
  void showPending();
  return {
    title,
    el,
    dispose() {
      // Uploads go on in the background; only this page's views stop.
      disposed = true;
      unsubscribe();
      for (const c of cards.values()) c.dispose();
    },
  };
}
