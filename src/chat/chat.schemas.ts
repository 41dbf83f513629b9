// Request and response schemas of the chat endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid', description: 'UUID' });

export const StreamParams = Type.Object({ stream_id: Uuid });
export const MessageParams = Type.Object({ stream_id: Uuid, comment_id: Uuid });
export const BanParams = Type.Object({ stream_id: Uuid, user_id: Uuid });

export const WsQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 200, description: 'Bearer token, for clients that cannot set headers on a WebSocket' })),
  viewer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'The viewer id handed out by the live playlist, so one viewer counts once' })),
});

export const HistoryQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Messages per page (default: the configured history size, 50)' })),
  before: Type.Optional(Uuid),
});

export const ChatMessage = Type.Object({
  stream_id: Type.String(),
  user_id: Type.String(),
  username: Type.String(),
  message: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  comment_id: Type.String(),
});

export const HistoryPage = Type.Object({ messages: Type.Array(ChatMessage, { description: 'Oldest first, newest last' }) });

export const BanBody = Type.Object({ user_id: Uuid }, { additionalProperties: false });

export const Ban = Type.Object({
  stream_id: Type.String(),
  user_id: Type.String(),
  banned_by: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
});

export const BanList = Type.Object({ bans: Type.Array(Ban) });

export const SettingsBody = Type.Object(
  { slow_mode_seconds: Type.Integer({ minimum: 0, description: 'Seconds each user waits between messages; 0 turns slow mode off' }) },
  { additionalProperties: false },
);

export const Settings = Type.Object({ stream_id: Type.String(), slow_mode_seconds: Type.Integer() });

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ChatMessageJson = Static<typeof ChatMessage>;
export type HistoryPageJson = Static<typeof HistoryPage>;
export type BanJson = Static<typeof Ban>;
export type BanListJson = Static<typeof BanList>;
export type SettingsJson = Static<typeof Settings>;
