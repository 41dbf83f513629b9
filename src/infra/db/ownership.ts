// Which capability owns each table: the only one that writes it and writes SQL against it. Others
// ask the owner (a query function it exports) or react to its events. The migrations stay one
// ordered list; this map is checked against them, and every file's SQL against it, by
// test/architecture.ownership.test.ts. An owner is a folder under src/ (infra adapters by their
// sub-folder, as `infra/queue`).

export const TABLE_OWNERS = {
  users: 'accounts',
  sessions: 'accounts',
  invites: 'accounts',
  instance_settings: 'instance',
  moderation_log: 'moderation',
  follows: 'channels',
  chat_messages: 'chat',
  chat_bans: 'chat',
  chat_settings: 'chat',
  clips: 'clips',
  video_views: 'engagement',
  video_view_marks: 'engagement',
  video_likes: 'engagement',
  video_watch: 'engagement',
  video_stats: 'engagement',
  engagement_keys: 'engagement',
  outbox: 'events',
  processed_events: 'events',
  experiments: 'experiments',
  experiment_assignments: 'experiments',
  experiment_conversions: 'experiments',
  experiment_metric_days: 'experiments',
  jobs: 'infra/queue',
  streams: 'live',
  broadcasts: 'live',
  stream_sessions: 'live',
  qoe_events: 'qoe',
  qoe_sessions: 'qoe',
  qoe_hourly: 'qoe',
  qoe_rendition_time: 'qoe',
  qoe_startup_hist: 'qoe',
  search_documents: 'search',
  search_fts: 'search',
  videos: 'videos',
  video_playback_keys: 'videos',
  webhook_subscriptions: 'webhooks',
  webhook_deliveries: 'webhooks',
  webhook_attempts: 'webhooks',
} as const satisfies Record<string, string>;

export type TableName = keyof typeof TABLE_OWNERS;
export type TableOwner = (typeof TABLE_OWNERS)[TableName];
