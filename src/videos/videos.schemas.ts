// Request and response schemas of the VOD endpoints (TypeBox → JSON Schema → OpenAPI). Free of
// server imports: the typed client and the web app import its types (videos.json.ts shapes the rows).
import { Type, type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const VideoStatusSchema = Type.Union([Type.Literal('waiting_upload'), Type.Literal('queued'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')]);

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const VisibilitySchema = Type.Union([Type.Literal('public'), Type.Literal('unlisted'), Type.Literal('private')], {
  description: 'public: listed everywhere; unlisted: plays for anyone with its id, never listed; private: owner and admins only',
});

const Tags = Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20, description: 'Up to 20 tags of up to 40 characters' });

export const CreateVideoBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    tags: Type.Optional(Tags),
    visibility: Type.Optional(VisibilitySchema),
  },
  { additionalProperties: false },
);

export const UpdateVideoBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    tags: Type.Optional(Tags),
    visibility: Type.Optional(VisibilitySchema),
  },
  { additionalProperties: false },
);

export const RenditionSchema = Type.Object({
  height: Type.Integer(),
  width: Type.Integer(),
  bandwidth: Type.Integer(),
  average_bandwidth: Type.Integer(),
  codecs: Type.String(),
  frame_rate: Nullable(Type.Number()),
  playlist_url: Type.String(),
  bytes: Nullable(Type.Integer({ description: "Bytes of the rendition's own segments" })),
  quality: Nullable(
    Type.Object({
      ssim: Type.Number({ description: "Mean per-frame SSIM against the source scaled to the rendition's size" }),
      psnr: Type.Number({ description: 'PSNR (dB) of the mean squared error' }),
      ssim_p10: Type.Number({ description: '10th percentile of the per-frame SSIM (worst decile)' }),
    }),
  ),
});

export const EncodingSchema = Type.Object({ mode: Type.Union([Type.Literal('per_title'), Type.Literal('fixed')]) });

export const VideoSchema = Type.Object(
  {
    id: Type.String(),
    owner_id: Type.String(),
    title: Type.String(),
    description: Type.String(),
    status: VideoStatusSchema,
    visibility: VisibilitySchema,
    tags: Type.Array(Type.String()),
    duration_seconds: Nullable(Type.Number()),
    width: Nullable(Type.Integer()),
    height: Nullable(Type.Integer()),
    fps: Nullable(Type.Number()),
    has_audio: Nullable(Type.Boolean()),
    size_bytes: Nullable(Type.Integer()),
    source_stream_id: Nullable(Type.String()),
    renditions: Type.Array(RenditionSchema),
    encoding: Nullable(EncodingSchema),
    manifest_url: Nullable(Type.String()),
    thumbnail_url: Nullable(Type.String()),
    storyboard_url: Nullable(Type.String()),
    error: Nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
    ready_at: Nullable(Type.String()),
    hidden: Type.Optional(Nullable(Type.Object({ at: Type.String(), reason: Type.String() }, { description: 'Set while a moderator hides the video; only its owner and admins see it then' }))),
  },
  { $id: 'Video', title: 'Video' },
);

export const CreateVideoResult = Type.Object({
  video: VideoSchema,
  upload: Type.Object({
    url: Type.String({ description: 'tus creation endpoint for this video' }),
    protocol: Type.Literal('tus'),
    max_size: Type.Integer(),
    expires_in_seconds: Type.Integer({ description: 'An unfinished upload is removed this long after it was created.' }),
  }),
});

export const ListQuery = Type.Object(
  {
    owner: Type.Optional(Type.String({ pattern: '^(me|[0-9a-fA-F-]{36})$', description: '"me" or a user id' })),
    status: Type.Optional(VideoStatusSchema),
    sort: Type.Optional(Type.Literal('recent', { description: 'recent: public ready videos only, newest first (also what any owner other than the caller lists)' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

export const VideoList = Type.Object({ items: Type.Array(VideoSchema), next_cursor: Nullable(Type.String()) });

/** One video as its watch page shows it: with the uploader's username, for the link to their channel. */
export const VideoWithOwner = Type.Object({ ...VideoSchema.properties, owner_username: Type.String() }, { $id: 'VideoWithOwner', title: 'VideoWithOwner' });

export const ProgressSchema = Type.Object(
  {
    video_id: Type.String(),
    status: VideoStatusSchema,
    stage: Nullable(Type.String()),
    progress: Type.Number({ minimum: 0, maximum: 100 }),
    attempts: Type.Integer(),
    error: Nullable(Type.String()),
    queue_position: Nullable(Type.Integer()),
  },
  { $id: 'VideoProgress', title: 'VideoProgress' },
);

export const PlaybackSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('processing')]),
  manifest_url: Type.String(),
  renditions: Type.Array(RenditionSchema),
  thumbnail_url: Nullable(Type.String()),
  storyboard_url: Nullable(Type.String()),
  duration_seconds: Nullable(Type.Number()),
  expires_at: Type.Optional(Nullable(Type.String({ description: 'When the signed URLs of a private video stop working; null for others' }))),
});

// Named response types: the typed client and the web app import these (type-only), so a renamed
// field here breaks their type check.
export type VideoStatus = Static<typeof VideoStatusSchema>;
export type Visibility = Static<typeof VisibilitySchema>;
export type RenditionJson = Static<typeof RenditionSchema>;
export type VideoJson = Static<typeof VideoSchema>;
export type VideoWithOwnerJson = Static<typeof VideoWithOwner>;
export type CreateVideoResultJson = Static<typeof CreateVideoResult>;
export type VideoListJson = Static<typeof VideoList>;
export type ProgressJson = Static<typeof ProgressSchema>;
export type PlaybackJson = Static<typeof PlaybackSchema>;
