// Request and response schemas of clips and chat replay (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';
import { VideoSchema } from '../videos/videos.schemas.js';

export const VideoClipBody = Type.Object(
  {
    start_seconds: Type.Number({ minimum: 0 }),
    end_seconds: Type.Number({ minimum: 0 }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const StreamClipBody = Type.Object(
  {
    seconds_back: Type.Number({ minimum: 1, maximum: 7 * 24 * 3600, description: 'Where the clip starts, in seconds before the live edge.' }),
    duration_seconds: Type.Number({ minimum: 0 }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const ClipResultSchema = Type.Object({
  video: VideoSchema,
  /** The range actually cut (segment boundaries): of the video, or of the broadcast for a stream clip. */
  start_seconds: Type.Number(),
  end_seconds: Type.Number(),
});

export const ChatReplayQuery = Type.Object(
  {
    from: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds into the video (default 0).' })),
    to: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds into the video (default: its end).' })),
  },
  { additionalProperties: false },
);

export const ReplayMessageSchema = Type.Object({
  comment_id: Type.String(),
  user_id: Type.String(),
  username: Type.String(),
  message: Type.String(),
  offset_seconds: Type.Number(),
});

export const ChatReplayList = Type.Object({ items: Type.Array(ReplayMessageSchema) });

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ClipResultJson = Static<typeof ClipResultSchema>;
export type ReplayMessageJson = Static<typeof ReplayMessageSchema>;
export type ChatReplayListJson = Static<typeof ChatReplayList>;
