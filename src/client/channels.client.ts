// Search, channels and follows calls of the typed client (used by tests, benchmarks and the web app's types).
import type { ApiResponse, NovaClient } from './nova-client.js';
import type { Video } from './videos.client.js';

export type SearchType = 'video' | 'stream' | 'user';

export interface SearchItem {
  type: SearchType;
  id: string;
  score: number;
  title?: string;
  username?: string;
  owner_id?: string;
  created_at?: string;
  visibility?: string;
  status?: string;
  duration_seconds?: number | null;
  thumbnail_url?: string | null;
}

export interface SearchResult {
  items: SearchItem[];
  next_cursor: string | null;
}

export interface ChannelStream {
  id: string;
  creator_id: string;
  username?: string;
  title: string;
  status: string;
  started_at: string | null;
  viewer_count: number;
  playback_url: string;
}

export interface Channel {
  id: string;
  username: string;
  created_at: string;
  video_count: number;
  follower_count: number;
  following: boolean | null;
  live_stream: ChannelStream | null;
}

export interface FollowingFeed {
  live: ChannelStream[];
  items: Array<Video & { owner_username: string }>;
  next_cursor: string | null;
}

function query(params: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, String(v));
  return qs.size ? `?${qs}` : '';
}

export function search(c: NovaClient, q: string, opts: { type?: SearchType; limit?: number; cursor?: string } = {}): Promise<ApiResponse<SearchResult>> {
  return c.get(`/api/v1/search${query({ q, ...opts })}`);
}

export function getChannel(c: NovaClient, username: string): Promise<ApiResponse<Channel>> {
  return c.get(`/api/v1/users/${encodeURIComponent(username)}`);
}

export function follow(c: NovaClient, username: string): Promise<ApiResponse<unknown>> {
  return c.request('PUT', `/api/v1/users/${encodeURIComponent(username)}/follow`);
}

export function unfollow(c: NovaClient, username: string): Promise<ApiResponse<unknown>> {
  return c.request('DELETE', `/api/v1/users/${encodeURIComponent(username)}/follow`);
}

export function listFollowing(c: NovaClient, opts: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<{ items: Array<{ id: string; username: string; followed_at: string }>; next_cursor: string | null }>> {
  return c.get(`/api/v1/me/following${query(opts)}`);
}

export function getFollowingFeed(c: NovaClient, opts: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<FollowingFeed>> {
  return c.get(`/api/v1/feed/following${query(opts)}`);
}
