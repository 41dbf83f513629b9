// Request and response schemas of the feed endpoint.
import { Type, type Static } from 'typebox';

export function feedQuery(maxLimit: number, defaultLimit: number) {
  return Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxLimit, default: defaultLimit })),
    cursor: Type.Optional(Type.String({ maxLength: 40, description: 'next_cursor of the previous page: continues the same ranked list' })),
  });
}

export const FeedItemSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  owner_id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  duration_seconds: Type.Union([Type.Number(), Type.Null()]),
  views: Type.Integer(),
  likes: Type.Integer(),
  score: Type.Number({ description: "The model's engagement probability, or the trending score when ranking is fallback" }),
  reason: Type.Union([Type.Literal('followed'), Type.Literal('similar_to_liked'), Type.Literal('trending'), Type.Literal('new'), Type.Literal('popular')], {
    description:
      'Why the item is here: a followed creator, a creator whose videos the viewer liked or watched, among the most engaged-with recent candidates, published in the last 48 h, or otherwise popular',
  }),
});

export const FeedResultSchema = Type.Object({
  items: Type.Array(FeedItemSchema),
  model: Type.String({ description: 'The model asked to rank this feed' }),
  model_version: Type.Union([Type.Integer(), Type.Null()]),
  ranking: Type.Union([Type.Literal('model'), Type.Literal('fallback')]),
  experiment: Type.Optional(Type.String()),
  variant: Type.Optional(Type.String()),
  next_cursor: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last' })),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type FeedItemJson = Static<typeof FeedItemSchema>;
export type FeedResultJson = Static<typeof FeedResultSchema>;
