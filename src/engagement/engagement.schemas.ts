// Request and response schemas of the engagement endpoints.
import { Type, type Static } from 'typebox';

export const VideoParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ViewBody = Type.Object(
  {
    viewer_id: Type.Optional(Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: "An anonymous client's stable id; signed-in viewers are counted by account" })),
  },
  { additionalProperties: false },
);

export const ViewResult = Type.Object({
  video_id: Type.String(),
  counted: Type.Boolean({ description: 'False when this viewer already counted a view of this video within the window' }),
  views: Type.Integer(),
});

export const LikeResult = Type.Object({ video_id: Type.String(), liked: Type.Boolean(), likes: Type.Integer() });

export function watchBody(maxSeconds: number) {
  return Type.Object(
    { seconds: Type.Number({ exclusiveMinimum: 0, maximum: maxSeconds, description: `Seconds watched since the last report (at most ${maxSeconds})` }) },
    { additionalProperties: false },
  );
}

export const WatchResult = Type.Object({
  video_id: Type.String(),
  watched_seconds: Type.Number({ description: "The caller's counted total on this video" }),
  counted_seconds: Type.Number({
    description: "How much of this report counted: one user's watch time on a video counts up to the video's duration per VIEW_DEDUP_SECONDS window (0 once that is used up; the rest is ignored)",
  }),
});

export const EngagementSummary = Type.Object({
  video_id: Type.String(),
  views: Type.Integer(),
  likes: Type.Integer(),
  watch_seconds: Type.Number(),
  liked: Type.Union([Type.Boolean(), Type.Null()], { description: 'Whether the caller likes it (null when anonymous)' }),
  watched_seconds: Type.Union([Type.Number(), Type.Null()]),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ViewResultJson = Static<typeof ViewResult>;
export type LikeResultJson = Static<typeof LikeResult>;
export type WatchResultJson = Static<typeof WatchResult>;
export type EngagementSummaryJson = Static<typeof EngagementSummary>;
