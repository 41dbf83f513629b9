// Engagement calls of the typed client (used by tests and benchmarks).
import type { ApiResponse, NovaClient } from './nova-client.js';

export function recordView(c: NovaClient, videoId: string, viewerId?: string): Promise<ApiResponse<{ video_id: string; counted: boolean; views: number }>> {
  return c.post(`/api/v1/videos/${videoId}/views`, viewerId === undefined ? {} : { viewer_id: viewerId });
}

export function like(c: NovaClient, videoId: string): Promise<ApiResponse<{ video_id: string; liked: boolean; likes: number }>> {
  return c.put(`/api/v1/videos/${videoId}/like`);
}

export function unlike(c: NovaClient, videoId: string): Promise<ApiResponse<{ video_id: string; liked: boolean; likes: number }>> {
  return c.delete(`/api/v1/videos/${videoId}/like`);
}

export function reportWatch(c: NovaClient, videoId: string, seconds: number): Promise<ApiResponse<{ video_id: string; watched_seconds: number; counted_seconds: number }>> {
  return c.post(`/api/v1/videos/${videoId}/watch`, { seconds });
}

export interface EngagementSummary {
  video_id: string;
  views: number;
  likes: number;
  watch_seconds: number;
  liked: boolean | null;
  watched_seconds: number | null;
}

export function engagementOf(c: NovaClient, videoId: string): Promise<ApiResponse<EngagementSummary>> {
  return c.get(`/api/v1/videos/${videoId}/engagement`);
}
