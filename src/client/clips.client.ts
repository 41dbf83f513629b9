// Clip and chat-replay calls of the typed client (used by tests).
import type { ApiResponse, NovaClient } from './nova-client.js';

export interface ClipVideo {
  id: string;
  owner_id: string;
  title: string;
  status: string;
  duration_seconds: number | null;
  manifest_url: string | null;
  renditions: Array<{ height: number; playlist_url: string }>;
}

export interface ClipResult {
  video: ClipVideo;
  start_seconds: number;
  end_seconds: number;
}

export interface ReplayMessage {
  comment_id: string;
  user_id: string;
  username: string;
  message: string;
  offset_seconds: number;
}

export function clipVideo(c: NovaClient, videoId: string, body: { start_seconds: number; end_seconds: number; title: string }): Promise<ApiResponse<ClipResult>> {
  return c.post(`/api/v1/videos/${videoId}/clips`, body);
}

export function clipStream(c: NovaClient, streamId: string, body: { seconds_back: number; duration_seconds: number; title: string }): Promise<ApiResponse<ClipResult>> {
  return c.post(`/api/v1/streams/${streamId}/clips`, body);
}

export function chatReplay(c: NovaClient, videoId: string, q: { from?: number; to?: number } = {}): Promise<ApiResponse<{ items: ReplayMessage[] }>> {
  const qs = new URLSearchParams();
  if (q.from !== undefined) qs.set('from', String(q.from));
  if (q.to !== undefined) qs.set('to', String(q.to));
  return c.get(`/api/v1/videos/${videoId}/chat${qs.size ? `?${qs}` : ''}`);
}
