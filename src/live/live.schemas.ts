// Request and response schemas of the live-stream endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';

const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);

export const StreamStatusSchema = Type.Union([Type.Literal('idle'), Type.Literal('live'), Type.Literal('ended')]);

export const StreamSchema = Type.Object(
  {
    id: Type.String(),
    creator_id: Type.String(),
    title: Type.String(),
    status: StreamStatusSchema,
    started_at: NullableIso,
    ended_at: NullableIso,
    /** Concurrent viewers while live (playlist pollers and chat sockets); 0 otherwise. */
    viewer_count: Type.Integer(),
    peak_viewer_count: Type.Integer(),
    playback_url: Type.String(),
    /** The video made from the recording once the stream has ended and it was handed over. */
    recording_video_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Iso,
    /** Present (true) on a reusable stream: its key keeps working across broadcasts. */
    reusable: Type.Optional(Type.Boolean()),
    /** Present when the stream keeps a DVR window: seconds of history its live playlists keep. */
    dvr_window_seconds: Type.Optional(Type.Integer()),
    /** Present (true) when viewers may clip the stream. */
    clips_by_viewers: Type.Optional(Type.Boolean()),
    /**
     * Present while live: false while the encoder is away (the reconnect window), so players can say
     * "Reconnecting…" at once instead of waiting for their buffer to run dry.
     */
    encoder_connected: Type.Optional(Type.Boolean()),
  },
  { $id: 'LiveStream', title: 'LiveStream' },
);
export type StreamDto = Static<typeof StreamSchema>;

export const CreateStreamBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    reusable: Type.Optional(Type.Boolean({ description: 'The key keeps working after each broadcast (default false: single-use).' })),
    dvr_window_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7200, description: 'Seconds viewers can seek back while live (0: a short sliding window).' })),
    clips_by_viewers: Type.Optional(Type.Boolean({ description: 'Viewers (not only the creator and admins) may clip the stream.' })),
  },
  { additionalProperties: false },
);

export const CreatedStream = Type.Object({
  stream: StreamSchema,
  /** Shown once: only its hash is stored. */
  stream_key: Type.String(),
  rtmp_url: Type.String(),
  playback_url: Type.String(),
});

export const NewKey = Type.Object({ stream_key: Type.String(), rtmp_url: Type.String() });

export const StreamIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ListQuery = Type.Object(
  {
    status: Type.Optional(StreamStatusSchema),
    creator: Type.Optional(Type.String({ description: '"me" or a user id' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const StreamList = Type.Object({ items: Type.Array(StreamSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const PlaylistParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
});
export const RenditionFileParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  rendition: Type.String({ pattern: '^[0-9]{2,4}p$' }),
  file: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}\\.(m3u8|ts)$' }),
});
export const ViewerQuery = Type.Object({
  viewer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' })),
});

/** nginx-rtmp's on_publish callback: application/x-www-form-urlencoded, the key as `name`. */
export const NginxHookBody = Type.Object({
  name: Type.String({ maxLength: 200 }),
  app: Type.Optional(Type.String({ maxLength: 200 })),
  call: Type.Optional(Type.String({ maxLength: 64 })),
  addr: Type.Optional(Type.String({ maxLength: 200 })),
});
export const NginxHookQuery = Type.Object({ secret: Type.Optional(Type.String({ maxLength: 256 })) });

export const BroadcastSchema = Type.Object({
  id: Type.String(),
  started_at: Iso,
  ended_at: NullableIso,
  duration_seconds: Type.Union([Type.Integer(), Type.Null()]),
  peak_viewer_count: Type.Integer(),
  recording_video_id: Type.Union([Type.String(), Type.Null()]),
});
export const BroadcastList = Type.Object({ items: Type.Array(BroadcastSchema) });
export const BroadcastQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })) }, { additionalProperties: false });

export const IngestHealthSchema = Type.Object(
  {
    measured_at: Iso,
    /** Incoming bytes over the last few seconds (the whole RTMP connection: video, audio, overhead). */
    bitrate_kbps: Type.Number(),
    /** Video frames received per second over the last few seconds. */
    fps: Type.Number(),
    /** The encoder's picture size, from its H.264 header; null before one arrived. */
    width: Type.Union([Type.Integer(), Type.Null()]),
    height: Type.Union([Type.Integer(), Type.Null()]),
    audio: Type.Boolean(),
    /** Totals for this publish session. */
    frames_received: Type.Integer(),
    /** Frames the live transcoder dropped (it could not keep up, or timestamps went backwards). */
    dropped_frames: Type.Integer(),
    /** Frames that arrived over a second behind the encoder's own clock (encoder or network lagging). */
    late_frames: Type.Integer(),
  },
  { $id: 'IngestHealth', title: 'IngestHealth' },
);
export type IngestHealthJson = Static<typeof IngestHealthSchema>;

export const StreamIngest = Type.Object({
  stream_id: Type.String(),
  status: StreamStatusSchema,
  /** Where the encoder publishes (`<rtmp_url>/<stream_key>`); the key itself is never shown again. */
  rtmp_url: Type.String(),
  /** Null unless the stream is live and its encoder connected. */
  health: Type.Union([IngestHealthSchema, Type.Null()]),
});
export type StreamIngestJson = Static<typeof StreamIngest>;

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type StreamJson = StreamDto;
export type CreatedStreamJson = Static<typeof CreatedStream>;
export type NewKeyJson = Static<typeof NewKey>;
export type StreamListJson = Static<typeof StreamList>;
export type BroadcastJson = Static<typeof BroadcastSchema>;
export type BroadcastListJson = Static<typeof BroadcastList>;
