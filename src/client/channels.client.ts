// Search, channels and follows calls of the typed client (used by tests, benchmarks and the web app's types).
import type { ChannelJson, ChannelStreamJson, FollowingFeedJson, FollowingListJson } from '../channels/channels.schemas.js';
import type { SearchItemJson, SearchResultJson } from '../search/search.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type SearchType = SearchItemJson['type'];
export type SearchItem = SearchItemJson;
export type SearchResult = SearchResultJson;
export type ChannelStream = ChannelStreamJson;
export type Channel = ChannelJson;
export type FollowingFeed = FollowingFeedJson;

function query(params: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, String(v));
  return qs.size ? `?${qs.toString()}` : '';
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

export function listFollowing(c: NovaClient, opts: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<FollowingListJson>> {
  return c.get(`/api/v1/me/following${query(opts)}`);
}

export function getFollowingFeed(c: NovaClient, opts: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<FollowingFeed>> {
  return c.get(`/api/v1/feed/following${query(opts)}`);
}
