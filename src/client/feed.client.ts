// Feed calls of the typed client (used by tests and benchmarks).
import type { ApiResponse, NovaClient } from './nova-client.js';

export interface FeedItem {
  id: string;
  title: string;
  owner_id: string;
  created_at: string;
  duration_seconds: number | null;
  views: number;
  likes: number;
  score: number;
}

export interface FeedResponse {
  items: FeedItem[];
  model: string;
  model_version: number | null;
  ranking: 'model' | 'fallback';
  experiment?: string;
  variant?: string;
}

export function getFeed(c: NovaClient, limit?: number): Promise<ApiResponse<FeedResponse>> {
  return c.get(`/api/v1/feed${limit === undefined ? '' : `?limit=${limit}`}`);
}
