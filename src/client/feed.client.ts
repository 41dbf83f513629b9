// Feed calls of the typed client (used by tests and benchmarks).
import type { FeedItemJson, FeedResultJson } from '../feed/feed.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type FeedItem = FeedItemJson;
export type FeedResponse = FeedResultJson;

export function getFeed(c: NovaClient, limit?: number): Promise<ApiResponse<FeedResponse>> {
  return c.get(`/api/v1/feed${limit === undefined ? '' : `?limit=${limit}`}`);
}
