// Request and response schemas of the trending endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';
import { WINDOWS } from './trending.score.js';

export const TrendingQuery = Type.Object({
  window: Type.Union(
    WINDOWS.map((w) => Type.Literal(w)),
    { default: '24h', description: 'Time window: 1h, 24h or 7d' },
  ),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
});

export const TrendingItem = Type.Object({
  id: Type.String(),
  title: Type.String(),
  score: Type.Number({ description: "Engagement in the window, decayed with the window's half-life (see docs/trending.md)" }),
  rank: Type.Integer(),
  owner_id: Type.String(),
  owner_username: Type.String(),
  thumbnail_url: Type.Union([Type.String(), Type.Null()]),
  duration_seconds: Type.Union([Type.Number(), Type.Null()]),
  view_count: Type.Integer(),
});

export const TrendingResponse = Type.Object({
  window: Type.String(),
  generated_at: Type.String(),
  items: Type.Array(TrendingItem),
});

export const LiveTrendingQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) });

export const LiveTrendingResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      creator_id: Type.String(),
      started_at: Type.Union([Type.String(), Type.Null()]),
      viewer_count: Type.Integer(),
      chat_messages_per_minute: Type.Number(),
      score: Type.Number({ description: 'viewer_count + 3 × chat messages per minute over the last 5 minutes' }),
    }),
  ),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type TrendingItemJson = Static<typeof TrendingItem>;
export type TrendingResponseJson = Static<typeof TrendingResponse>;
export type LiveTrendingResponseJson = Static<typeof LiveTrendingResponse>;
