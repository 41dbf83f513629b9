// The typed map of every event Nova emits: event_type → payload, and the topic each goes to.
// Topics and payload fields are fixed by the public contract (shared API.md).

export type Topic = 'streams.events' | 'streams.chat' | 'videos.events' | 'users.events' | 'experiments.events';

/** Every topic, in the order docs/events.md lists them (created on Kafka when missing). */
export const TOPICS: readonly Topic[] = ['streams.events', 'streams.chat', 'videos.events', 'users.events', 'experiments.events'];

export interface ChatMessagePayload {
  stream_id: string;
  user_id: string;
  username: string;
  message: string;
  created_at: string;
  comment_id: string;
}

export interface EventMap {
  'stream.started': { stream_id: string; broadcast_id?: string; creator_id: string; title: string; timestamp: string };
  /** `creator_id` lets webhooks route the event to the stream's owner without a lookup. */
  'stream.ended': { stream_id: string; broadcast_id?: string; creator_id?: string; duration_seconds: number; viewer_count: number; timestamp: string };
  'chat.message': ChatMessagePayload;
  'chat.deleted': { stream_id: string; comment_id: string; timestamp: string };
  'video.uploaded': { video_id: string; owner_id: string; size_bytes: number; timestamp: string };
  'video.ready': { video_id: string; owner_id: string; duration_seconds: number | null; renditions: number; timestamp: string };
  'video.failed': { video_id: string; owner_id: string; error: string; timestamp: string };
  'video.deleted': { video_id: string; owner_id: string; timestamp: string };
  'video.viewed': { video_id: string; viewer_id: string | null; timestamp: string };
  'video.liked': { video_id: string; user_id: string; liked: boolean; timestamp: string };
  /** Watch time reported by a player (`POST /videos/{id}/watch`); feeds trending. */
  'video.watched': { video_id: string; user_id: string; seconds: number; timestamp: string };
  /** Progress of a processing video, for webhooks (`video.progress`) and live progress views. */
  'video.progress': { video_id: string; owner_id: string; stage: string; progress: number; timestamp: string };
  /** Webhook-facing alias of the upload finishing; carries the same payload as video.uploaded. */
  'video.upload.completed': { video_id: string; owner_id: string; size_bytes: number; timestamp: string };
  /** An experiment stopped itself: a guardrail showed a treatment significantly worse than control. */
  'experiment.stopped': {
    experiment_key: string;
    reason: string;
    guardrails: Array<{ variant: string; metric: string; lift: number | null; ci_low: number | null; max_regression: number }>;
    timestamp: string;
  };
  /** The owner (or an admin) edited the video; `changed` names the fields that changed. */
  'video.updated': { video_id: string; owner_id: string; title: string; visibility: 'public' | 'unlisted' | 'private'; tags: string[]; changed: string[]; timestamp: string };
  /** Keyed by the followed user, so one channel's follower events stay in order. */
  'user.followed': { follower_id: string; followee_id: string; timestamp: string };
  'user.unfollowed': { follower_id: string; followee_id: string; timestamp: string };
}

export type EventType = keyof EventMap;

export const TOPIC_OF: { [K in EventType]: Topic } = {
  'stream.started': 'streams.events',
  'stream.ended': 'streams.events',
  'chat.message': 'streams.chat',
  'chat.deleted': 'streams.chat',
  'video.uploaded': 'videos.events',
  'video.ready': 'videos.events',
  'video.failed': 'videos.events',
  'video.deleted': 'videos.events',
  'video.viewed': 'videos.events',
  'video.liked': 'videos.events',
  'video.watched': 'videos.events',
  'video.progress': 'videos.events',
  'video.upload.completed': 'videos.events',
  'experiment.stopped': 'experiments.events',
  'video.updated': 'videos.events',
  'user.followed': 'users.events',
  'user.unfollowed': 'users.events',
};

/** Fields the envelope adds around a payload. */
export const ENVELOPE_FIELDS = ['event_id', 'event_type', 'schema_version', 'occurred_at'] as const;

/** The envelope as published on the bus: the payload's fields plus identity and version. */
export type EventEnvelope<K extends EventType = EventType> = EventMap[K] & {
  event_id: string;
  event_type: K;
  schema_version: 1;
  occurred_at: string;
};
