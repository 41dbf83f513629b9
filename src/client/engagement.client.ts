// Engagement calls of the typed client (used by tests and benchmarks).
import type { EngagementSummaryJson, LikeResultJson, ViewResultJson, WatchResultJson } from '../engagement/engagement.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

export function recordView(c: NovaClient, videoId: string, viewerId?: string): Promise<ApiResponse<ViewResultJson>> {
  return c.post(`/api/v1/videos/${videoId}/views`, viewerId === undefined ? {} : { viewer_id: viewerId });
}

export function like(c: NovaClient, videoId: string): Promise<ApiResponse<LikeResultJson>> {
  return c.put(`/api/v1/videos/${videoId}/like`);
}

export function unlike(c: NovaClient, videoId: string): Promise<ApiResponse<LikeResultJson>> {
  return c.delete(`/api/v1/videos/${videoId}/like`);
}

export function reportWatch(c: NovaClient, videoId: string, seconds: number): Promise<ApiResponse<WatchResultJson>> {
  return c.post(`/api/v1/videos/${videoId}/watch`, { seconds });
}

export type EngagementSummary = EngagementSummaryJson;

export function engagementOf(c: NovaClient, videoId: string): Promise<ApiResponse<EngagementSummary>> {
  return c.get(`/api/v1/videos/${videoId}/engagement`);
}
