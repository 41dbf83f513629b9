// Live-stream calls of the typed client (used by tests and benchmarks), and a test-pattern encoder:
// ffmpeg pushing testsrc2 + a sine tone over RTMP, standing in for OBS.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolveMediaTools } from '../media/ffmpeg.binaries.js';
import type { BroadcastJson, BroadcastListJson, CreatedStreamJson, NewKeyJson, StreamJson, StreamListJson } from '../live/live.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type LiveStreamInfo = StreamJson;
export type BroadcastInfo = BroadcastJson;
export type CreatedLiveStream = CreatedStreamJson;

export interface StreamOptions {
  reusable?: boolean;
  dvr_window_seconds?: number;
  clips_by_viewers?: boolean;
}

export function createStream(c: NovaClient, title: string, options: StreamOptions = {}): Promise<ApiResponse<CreatedLiveStream>> {
  return c.post<CreatedLiveStream>('/api/v1/streams', { title, ...options });
}

/** Disables a stream for good (its key is refused from then on). */
export function deleteStream(c: NovaClient, id: string): Promise<ApiResponse<null>> {
  return c.delete<null>(`/api/v1/streams/${id}`);
}

export function listBroadcasts(c: NovaClient, id: string): Promise<ApiResponse<BroadcastListJson>> {
  return c.get(`/api/v1/streams/${id}/broadcasts`);
}

export function getStream(c: NovaClient, id: string): Promise<ApiResponse<LiveStreamInfo>> {
  return c.get<LiveStreamInfo>(`/api/v1/streams/${id}`);
}

export function listStreams(c: NovaClient, query: { status?: string; creator?: string; limit?: number; cursor?: string } = {}): Promise<ApiResponse<StreamListJson>> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  return c.get(`/api/v1/streams${qs.size ? `?${qs.toString()}` : ''}`);
}

export function endStream(c: NovaClient, id: string): Promise<ApiResponse<LiveStreamInfo>> {
  return c.post<LiveStreamInfo>(`/api/v1/streams/${id}/end`);
}

export function rotateStreamKey(c: NovaClient, id: string): Promise<ApiResponse<NewKeyJson>> {
  return c.post(`/api/v1/streams/${id}/key`);
}

/** Fetches a live playlist as text (master or media), as a player polling it would. */
export async function fetchPlaylist(c: NovaClient, url: string): Promise<{ status: number; text: string; cacheControl: string | null }> {
  const res = await fetch(c.url(url));
  return { status: res.status, text: await res.text(), cacheControl: res.headers.get('cache-control') };
}

export interface EncoderOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Seconds to stream; the encoder stops by itself afterwards. */
  seconds?: number;
  audio?: boolean;
  /** Burn the sender's wall-clock time (ms) into the picture, for latency measurements. */
  clockOverlay?: boolean;
  /** The ffmpeg to run; by default the one Nova itself would use (FFMPEG_PATH, PATH, npm package). */
  ffmpeg?: string;
}

export interface Encoder {
  process: ChildProcess;
  /** Resolves with ffmpeg's exit code when it ends (for any reason). */
  exited: Promise<number | null>;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Pushes a real-time test pattern to `<rtmpUrl>/<key>` the way an encoder such as OBS would. */
export function startEncoder(rtmpUrl: string, key: string, o: EncoderOptions = {}): Encoder {
  const w = o.width ?? 640;
  const h = o.height ?? 360;
  const fps = o.fps ?? 30;
  const video = `testsrc2=size=${w}x${h}:rate=${fps}`;
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', video];
  if (o.audio !== false) args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  if (o.seconds) args.push('-t', String(o.seconds));
  if (o.clockOverlay) args.push('-vf', "drawtext=text='%{localtime\\:%s}':fontcolor=white:fontsize=24:x=8:y=8");
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-pix_fmt', 'yuv420p');
  if (o.audio !== false) args.push('-c:a', 'aac', '-b:a', '96k');
  args.push('-f', 'flv', `${rtmpUrl}/${key}`);
  const child = spawn(o.ffmpeg ?? resolveMediaTools().ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code));
  });
  return {
    process: child,
    exited,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}
