// VOD calls of the typed client (used by tests and benchmarks): videos, tus uploads through the
// standard tus-js-client, progress (snapshot, SSE reader, WebSocket reader), playback and jobs.
import fs from 'node:fs';
import * as tus from 'tus-js-client';
import WebSocket from 'ws';
import type { JobJson, JobsViewJson, RetriedJobJson } from '../transcode/transcode.schemas.js';
import type { CreateVideoResultJson, PlaybackJson, ProgressJson, RenditionJson, VideoJson, VideoListJson, VideoStatus, Visibility } from '../videos/videos.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type { VideoStatus, Visibility };
export type Rendition = RenditionJson;
export type Video = VideoJson;
export type CreatedVideo = CreateVideoResultJson;
/** A progress snapshot; the SSE and WebSocket events carry the same fields. */
export type Progress = ProgressJson & { event_type?: 'progress' };
export type Playback = PlaybackJson;
export type JobInfo = JobJson;
export type JobsView = JobsViewJson;

export interface VideoFields {
  title?: string;
  description?: string;
  tags?: string[];
  visibility?: Visibility;
}

export function createVideo(c: NovaClient, body: VideoFields & { title: string }): Promise<ApiResponse<CreatedVideo>> {
  return c.post<CreatedVideo>('/api/v1/videos', body);
}

/** Owner or admin: changes title, description, tags or visibility. */
export function updateVideo(c: NovaClient, id: string, body: VideoFields): Promise<ApiResponse<Video>> {
  return c.request<Video>('PATCH', `/api/v1/videos/${id}`, body);
}

export function getVideo(c: NovaClient, id: string): Promise<ApiResponse<Video>> {
  return c.get<Video>(`/api/v1/videos/${id}`);
}

export function listVideos(c: NovaClient, query: { owner?: string; status?: VideoStatus; sort?: 'recent'; cursor?: string; limit?: number } = {}): Promise<ApiResponse<VideoListJson>> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  return c.get(`/api/v1/videos${qs.size ? `?${qs.toString()}` : ''}`);
}

export function deleteVideo(c: NovaClient, id: string): Promise<ApiResponse<unknown>> {
  return c.delete(`/api/v1/videos/${id}`);
}

export function getProgress(c: NovaClient, id: string): Promise<ApiResponse<Progress>> {
  return c.get<Progress>(`/api/v1/videos/${id}/progress`);
}

export function getPlayback(c: NovaClient, id: string): Promise<ApiResponse<Playback>> {
  return c.get<Playback>(`/api/v1/videos/${id}/playback`);
}

export function listJobs(c: NovaClient): Promise<ApiResponse<JobsView>> {
  return c.get<JobsView>('/api/v1/jobs');
}

export function retryJob(c: NovaClient, id: string): Promise<ApiResponse<RetriedJobJson>> {
  return c.post<{ job: JobInfo }>(`/api/v1/jobs/${id}/retry`);
}

export interface UploadOptions {
  /** Bytes per PATCH request; default: the whole file in one request. */
  chunkSize?: number;
  /** Resume this upload (its Location) instead of creating one. */
  resumeUrl?: string;
  metadata?: Record<string, string>;
  retryDelays?: number[] | null;
  onProgress?: (sent: number, total: number) => void;
  /** Called with the upload's URL as soon as the server created it. */
  onUrl?: (url: string) => void;
  /** Lets the caller stop the upload mid-way (e.g. to simulate a dropped connection). */
  control?: { abort?: () => Promise<void> };
}

/** Uploads a file with tus-js-client (tus 1.0.0) to a video's creation endpoint; resolves with the upload URL. */
export function uploadFile(c: NovaClient, endpoint: string, filePath: string, opts: UploadOptions = {}): Promise<string> {
  const size = fs.statSync(filePath).size;
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(fs.createReadStream(filePath), {
      endpoint,
      uploadUrl: opts.resumeUrl ?? null,
      uploadSize: size,
      chunkSize: opts.chunkSize ?? Number.POSITIVE_INFINITY,
      retryDelays: opts.retryDelays === undefined ? [0, 500, 1000] : opts.retryDelays,
      metadata: opts.metadata ?? { filename: filePath.split('/').pop() ?? 'upload' },
      headers: c.token ? { authorization: `Bearer ${c.token}` } : {},
      storeFingerprintForResuming: false,
      onProgress: opts.onProgress ?? null,
      onUploadUrlAvailable: () => {
        if (upload.url) opts.onUrl?.(upload.url);
      },
      onSuccess: () => resolve(upload.url ?? ''),
      onError: reject,
    });
    if (opts.control) opts.control.abort = () => upload.abort(false);
    upload.start();
  });
}

/** Reads a video's progress SSE stream until the server ends it; returns every event's data. */
export async function readProgressStream(c: NovaClient, id: string, opts: { signal?: AbortSignal; onEvent?: (p: Progress) => void } = {}): Promise<Progress[]> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  const res = await fetch(c.url(`/api/v1/videos/${id}/progress/stream`), { headers, signal: opts.signal });
  if (res.status !== 200 || !res.body) throw new Error(`progress stream answered ${res.status}: ${await res.text()}`);
  const events: Progress[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const lines = block.split('\n');
      const type = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      if (type === 'progress' && data) {
        const p = JSON.parse(data) as Progress;
        events.push(p);
        opts.onEvent?.(p);
      }
    }
  }
  return events;
}

/** Reads the WebSocket twin of the progress stream until the server closes it. */
export function readProgressSocket(c: NovaClient, id: string): Promise<Progress[]> {
  const url = c.url(`/api/v1/videos/${id}/progress/ws`).replace(/^http/, 'ws') + (c.token ? `?token=${encodeURIComponent(c.token)}` : '');
  return new Promise((resolve, reject) => {
    const events: Progress[] = [];
    const ws = new WebSocket(url);
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as Progress));
    ws.on('close', () => resolve(events));
    ws.on('error', reject);
  });
}

/** Polls a video's progress until its status is one of `statuses`; throws with the last state after the deadline. */
export async function waitForStatus(c: NovaClient, id: string, statuses: VideoStatus[], timeoutMs = 120_000): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  let last: Progress | null = null;
  while (Date.now() < deadline) {
    const res = await getProgress(c, id);
    if (res.status === 200) {
      last = res.body;
      if (statuses.includes(last.status)) return last;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`video ${id} did not reach ${statuses.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}
