// Request and response schemas of GET /api/v1/search.
import { Type, type Static } from 'typebox';

export const MAX_SEARCH_LIMIT = 50;
/** Deeper pages than this are refused: relevance past a thousand results helps nobody. */
export const MAX_SEARCH_OFFSET = 1000;

export const SearchQuerySchema = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 200, description: 'Words in any order; each also matches as a prefix; case and diacritics are ignored' }),
    type: Type.Union([Type.Literal('video'), Type.Literal('stream'), Type.Literal('user')], { default: 'video' }),
    limit: Type.Integer({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const SearchItemSchema = Type.Object({
  type: Type.Union([Type.Literal('video'), Type.Literal('stream'), Type.Literal('user')]),
  id: Type.String(),
  score: Type.Number(),
  title: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  owner_id: Type.Optional(Type.String()),
  created_at: Type.Optional(Type.String()),
  visibility: Type.Optional(Type.String()),
  duration_seconds: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  thumbnail_url: Type.Optional(Nullable(Type.String())),
  status: Type.Optional(Type.String()),
});

export const SearchResultSchema = Type.Object({ items: Type.Array(SearchItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type SearchItemJson = Static<typeof SearchItemSchema>;
export type SearchResultJson = Static<typeof SearchResultSchema>;
