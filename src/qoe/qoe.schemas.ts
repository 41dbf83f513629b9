// Request and response schemas of the playback-quality endpoints. Every event type has its own
// strict shape, so a malformed batch is refused whole with a field-level 400.
import { Type, type Static } from 'typebox';

/** Largest batch; a player sends a few events every 10 s. */
export const MAX_EVENTS_PER_BATCH = 100;
/** Largest accepted body of one batch. */
export const MAX_BATCH_BYTES = 64 * 1024;
/** A session's events lie within a day of its start. */
export const MAX_AT_MS = 24 * 3600 * 1000;

const At = Type.Number({ minimum: 0, maximum: MAX_AT_MS, description: 'Milliseconds since the player session began (a monotonic clock)' });
const Height = Type.Integer({ minimum: 0, maximum: 8640 });
const strict = { additionalProperties: false } as const;

export const PlaybackEventSchema = Type.Union([
  Type.Object({ type: Type.Literal('startup'), at_ms: At, ms: Type.Number({ minimum: 0, maximum: 3_600_000, description: 'From the play request to the first frame' }) }, strict),
  Type.Object({ type: Type.Literal('rebuffer_start'), at_ms: At }, strict),
  Type.Object({ type: Type.Literal('rebuffer_end'), at_ms: At }, strict),
  Type.Object({ type: Type.Literal('level_switch'), at_ms: At, height: Height, bitrate: Type.Number({ minimum: 0, maximum: 1e9, description: 'Bits per second' }) }, strict),
  Type.Object({ type: Type.Literal('error'), at_ms: At, fatal: Type.Boolean(), kind: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) }, strict),
  Type.Object({ type: Type.Literal('heartbeat'), at_ms: At, position: Type.Number({ minimum: 0, maximum: 1e7 }), height: Type.Optional(Height), paused: Type.Optional(Type.Boolean()) }, strict),
  Type.Object({ type: Type.Literal('end'), at_ms: At }, strict),
]);

export const EventBatch = Type.Object(
  {
    session_id: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A random id the player makes for each playback' }),
    video_id: Type.Optional(Type.String({ format: 'uuid' })),
    stream_id: Type.Optional(Type.String({ format: 'uuid' })),
    events: Type.Array(PlaybackEventSchema, { minItems: 1, maxItems: MAX_EVENTS_PER_BATCH }),
  },
  strict,
);

export const WindowQuery = Type.Object({
  window: Type.Optional(Type.Union([Type.Literal('1h'), Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')], { default: '24h' })),
});
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const Nullable = Type.Union([Type.Number(), Type.Null()]);
const Fields = {
  sessions: Type.Integer(),
  startup_ms: Type.Object({ p50: Nullable, p95: Nullable }),
  rebuffer_ratio: Type.Number({ description: 'Rebuffering time over viewing plus rebuffering time' }),
  rebuffers_per_hour: Type.Number({ description: 'Rebuffers per hour of viewing' }),
  error_sessions_ratio: Type.Number({ description: 'Sessions with a fatal error over sessions' }),
  avg_bitrate_kbps: Nullable,
  renditions: Type.Array(Type.Object({ height: Type.Integer(), share_of_time: Type.Number() })),
  rebuffers: Type.Integer({ description: 'Stalls after the first frame' }),
  level_switches: Type.Integer({ description: 'Rendition changes after the first one' }),
  viewing_seconds: Type.Number(),
  rebuffer_seconds: Type.Number(),
};
export const QoeBucket = Type.Object({ start: Type.String(), ...Fields });
export const QoeSummary = Type.Object({
  window: Type.String(),
  from: Type.String({ description: 'Start of the first hour counted: windows cover whole clock hours' }),
  ...Fields,
  hours: Type.Optional(Type.Array(QoeBucket)),
  days: Type.Optional(Type.Array(QoeBucket)),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type QoeBucketJson = Static<typeof QoeBucket>;
export type QoeSummaryJson = Static<typeof QoeSummary>;
