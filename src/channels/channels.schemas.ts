// Request and response schemas of channels, follows and the following feed.
import { Type, type Static } from 'typebox';
import { VideoSchema } from '../videos/videos.schemas.js';

export const UsernameParams = Type.Object({ username: Type.String({ minLength: 3, maxLength: 32, pattern: '^[a-zA-Z0-9_]+$' }) });

/** A live stream as a channel or the following feed shows it (see GET /api/v1/streams/{id} for all of it). */
export const ChannelStreamSchema = Type.Object({
  id: Type.String(),
  creator_id: Type.String(),
  username: Type.Optional(Type.String()),
  title: Type.String(),
  status: Type.String(),
  started_at: Type.Union([Type.String(), Type.Null()]),
  viewer_count: Type.Integer(),
  playback_url: Type.String(),
});

export const ChannelSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  created_at: Type.String(),
  video_count: Type.Integer({ description: 'Public ready videos' }),
  follower_count: Type.Integer(),
  following: Type.Union([Type.Boolean(), Type.Null()], { description: 'Whether the caller follows this user; null when signed out' }),
  live_stream: Type.Union([ChannelStreamSchema, Type.Null()]),
});

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const FollowingList = Type.Object({
  items: Type.Array(Type.Object({ id: Type.String(), username: Type.String(), followed_at: Type.String() })),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const FollowingFeed = Type.Object({
  live: Type.Array(ChannelStreamSchema, { description: 'Followed creators live now (first page only)' }),
  items: Type.Array(Type.Object({ ...VideoSchema.properties, owner_username: Type.String() })),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ChannelStreamJson = Static<typeof ChannelStreamSchema>;
export type ChannelJson = Static<typeof ChannelSchema>;
export type FollowingListJson = Static<typeof FollowingList>;
export type FollowingFeedJson = Static<typeof FollowingFeed>;
