// The app's upload manager: tus uploads live here, outside any page, so they keep going while the
// user browses; the Upload page and the header only watch them. While one is sending, closing the
// tab asks first (upload-status.ts). An upload is resumable (its place is kept in localStorage by tus-js-client).
import * as tus from 'tus-js-client';
import { session } from './session.js';
import { publishUploads } from './upload-status.js';

export interface StoredUpload {
  uploadUrl?: string;
  urlStorageKey: string;
  size: number | null;
  creationTime?: string;
  metadata?: Record<string, string>;
  parallelUploadUrls?: string[];
}

export type UploadState = 'uploading' | 'paused' | 'error' | 'done';

export interface UploadJob {
  readonly key: number;
  readonly videoId: string;
  title: string;
  readonly file: File;
  state: UploadState;
  sent: number;
  total: number;
  /** Smoothed bytes per second (0 until measured). */
  rate: number;
  error: string | null;
  /** Whether it continued an upload started before (after a reload). */
  readonly resumed: boolean;
}

/** Big enough to be quick, small enough that a pause or a dropped connection loses little. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000];

// The fingerprint ties an unfinished upload to this user and this exact file (not to the
// endpoint, which is per video and unknown until the file is matched).
export function fingerprint(file: File | Blob): Promise<string> {
  const f = file as File;
  return Promise.resolve(['nova', session.user?.id ?? 'anon', f.name, f.type, f.size, f.lastModified].join('-'));
}

export async function unfinishedUploads(): Promise<StoredUpload[]> {
  const all = (await tus.defaultOptions.urlStorage.findAllUploads()) as StoredUpload[];
  const prefix = `tus::nova-${session.user?.id}-`;
  return all.filter((u) => u.urlStorageKey.startsWith(prefix));
}

/** The unfinished upload of this exact file, if one was started before. */
export async function previousUploadOf(f: File): Promise<StoredUpload | null> {
  const found = (await new tus.Upload(f, { fingerprint }).findPreviousUploads()) as StoredUpload[];
  return found.find((p) => p.uploadUrl) ?? null;
}

export async function discardUpload(u: StoredUpload): Promise<void> {
  if (u.uploadUrl) await tus.Upload.terminate(u.uploadUrl, { headers: { authorization: `Bearer ${session.token}` } }).catch(() => {});
  await tus.defaultOptions.urlStorage.removeUpload(u.urlStorageKey);
}

function problemText(err: Error): string {
  const detail = String((err as { originalResponse?: { getBody(): string } }).originalResponse?.getBody?.() ?? '');
  const text = err.message.replace(/^tus: /, '').split(', originated from')[0];
  try {
    return (JSON.parse(detail) as { detail?: string }).detail ?? text;
  } catch {
    // Not a problem+json body: keep tus-js-client's message.
    return text;
  }
}

type Listener = () => void;

class UploadManager {
  private readonly jobs: UploadJob[] = [];
  private readonly tusUploads = new Map<number, tus.Upload>();
  private readonly listeners = new Set<Listener>();
  private nextKey = 1;

  constructor() {
    session.onChange(() => {
      // Another user signing in must not inherit (or see) this user's uploads.
      if (!session.user) for (const j of this.jobs) if (j.state === 'uploading') this.pause(j);
    });
  }

  list(): readonly UploadJob[] {
    return this.jobs;
  }

  /** Uploads that are sending right now. */
  sending(): number {
    return this.jobs.filter((j) => j.state === 'uploading').length;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    const open = this.jobs.filter((j) => j.state !== 'done');
    publishUploads({
      sending: this.sending(),
      unfinished: open.length,
      sent: open.reduce((a, j) => a + j.sent, 0),
      total: open.reduce((a, j) => a + j.total, 0),
    });
    for (const fn of this.listeners) fn();
  }

  start(file: File, opts: { endpoint?: string; previous?: StoredUpload; videoId: string; title: string }): UploadJob {
    const job: UploadJob = {
      key: this.nextKey++,
      videoId: opts.videoId,
      title: opts.title,
      file,
      state: 'uploading',
      sent: 0,
      total: file.size,
      rate: 0,
      error: null,
      resumed: Boolean(opts.previous),
    };
    let lastTime = performance.now();
    let lastBytes = 0;
    const upload = new tus.Upload(file, {
      endpoint: opts.endpoint,
      fingerprint,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      headers: { authorization: `Bearer ${session.token}` },
      metadata: { filename: file.name, filetype: file.type || 'application/octet-stream', title: opts.title, video_id: opts.videoId },
      onProgress: (sent, total) => {
        const now = performance.now();
        if (now - lastTime > 1000) {
          // A smoothed rate keeps the time-left estimate from jumping around.
          const inst = ((sent - lastBytes) * 1000) / (now - lastTime);
          job.rate = job.rate ? job.rate * 0.7 + inst * 0.3 : inst;
          lastTime = now;
          lastBytes = sent;
        }
        job.sent = sent;
        job.total = total;
        this.emit();
      },
      onSuccess: () => {
        job.state = 'done';
        job.sent = job.total;
        job.error = null;
        this.tusUploads.delete(job.key);
        this.emit();
      },
      onError: (err) => {
        job.state = 'error';
        job.error = problemText(err);
        this.emit();
      },
    });
    if (opts.previous) upload.resumeFromPreviousUpload(opts.previous as tus.PreviousUpload);
    this.tusUploads.set(job.key, upload);
    this.jobs.push(job);
    upload.start();
    this.emit();
    return job;
  }

  pause(job: UploadJob): void {
    const upload = this.tusUploads.get(job.key);
    if (!upload || job.state !== 'uploading') return;
    job.state = 'paused';
    void upload.abort();
    this.emit();
  }

  resume(job: UploadJob): void {
    const upload = this.tusUploads.get(job.key);
    if (!upload || job.state === 'uploading' || job.state === 'done') return;
    job.state = 'uploading';
    job.error = null;
    upload.start();
    this.emit();
  }

  /** Forgets a finished (or abandoned) upload so the lists stop showing it. */
  dismiss(job: UploadJob): void {
    this.pause(job);
    this.tusUploads.delete(job.key);
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    this.emit();
  }
}

export const uploads = new UploadManager();
