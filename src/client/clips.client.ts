// Clip and chat-replay calls of the typed client (used by tests).
import type { ChatReplayListJson, ClipResultJson, ReplayMessageJson } from '../clips/clips.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type ClipVideo = ClipResultJson['video'];
export type ClipResult = ClipResultJson;
export type ReplayMessage = ReplayMessageJson;

export function clipVideo(c: NovaClient, videoId: string, body: { start_seconds: number; end_seconds: number; title: string }): Promise<ApiResponse<ClipResult>> {
  return c.post(`/api/v1/videos/${videoId}/clips`, body);
}

export function clipStream(c: NovaClient, streamId: string, body: { seconds_back: number; duration_seconds: number; title: string }): Promise<ApiResponse<ClipResult>> {
  return c.post(`/api/v1/streams/${streamId}/clips`, body);
}

export function chatReplay(c: NovaClient, videoId: string, q: { from?: number; to?: number } = {}): Promise<ApiResponse<ChatReplayListJson>> {
  const qs = new URLSearchParams();
  if (q.from !== undefined) qs.set('from', String(q.from));
  if (q.to !== undefined) qs.set('to', String(q.to));
  return c.get(`/api/v1/videos/${videoId}/chat${qs.size ? `?${qs.toString()}` : ''}`);
}
