// Shapes of the public API (see API.md) as the web app reads them. Fields beyond the contract are
// optional: the app shows them when the server sends them.

export interface Rendition {
  height: number;
  width: number;
  bandwidth: number;
  average_bandwidth?: number;
  codecs?: string;
  playlist_url?: string;
  bytes?: number | null;
  quality?: { ssim: number; psnr: number; ssim_p10: number } | null;
}

export type VideoStatus = 'waiting_upload' | 'uploading' | 'queued' | 'processing' | 'ready' | 'failed';

export interface Video {
  id: string;
  owner_id: string;
  owner_username?: string;
  title: string;
  description?: string | null;
  status: VideoStatus | string;
  duration_seconds?: number | null;
  width?: number | null;
  height?: number | null;
  renditions?: Rendition[];
  encoding?: { mode: 'per_title' | 'fixed' | string } | null;
  thumbnail_url?: string | null;
  created_at: string;
  storyboard_url?: string | null;
  error?: string | null;
  view_count?: number;
  visibility?: Visibility;
  tags?: string[];
}

export type Visibility = 'public' | 'unlisted' | 'private';

export interface SearchItem {
  type: 'video' | 'stream' | 'user';
  id: string;
  score: number;
  title?: string;
  username?: string;
  owner_id?: string;
  created_at?: string;
  duration_seconds?: number | null;
  thumbnail_url?: string | null;
}

export interface SearchResult {
  items: SearchItem[];
  next_cursor: string | null;
}

export interface ChannelStream {
  id: string;
  creator_id: string;
  username?: string;
  title: string;
  started_at: string | null;
  viewer_count: number;
  playback_url: string;
}

export interface Channel {
  id: string;
  username: string;
  created_at: string;
  video_count: number;
  follower_count: number;
  following: boolean | null;
  live_stream: ChannelStream | null;
}

export interface Engagement {
  video_id: string;
  views: number;
  likes: number;
  liked: boolean | null;
}

export interface Playback {
  manifest_url: string;
  renditions: Rendition[];
  thumbnail_url?: string | null;
  storyboard_url?: string | null;
  duration_seconds?: number | null;
}

export interface Progress {
  status: string;
  stage: string | null;
  progress: number;
  attempts?: number;
  error?: string | null;
  queue_position?: number | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface Stream {
  id: string;
  creator_id: string;
  creator_username?: string;
  title: string;
  status: 'idle' | 'live' | 'ended' | string;
  started_at?: string | null;
  ended_at?: string | null;
  viewer_count?: number;
  playback_url?: string;
  reusable?: boolean;
  dvr_window_seconds?: number;
  clips_by_viewers?: boolean;
  recording_video_id?: string | null;
}

export interface Broadcast {
  id: string;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number | null;
  peak_viewer_count: number;
  recording_video_id: string | null;
}

export interface ReplayMessage {
  comment_id: string;
  user_id: string;
  username: string;
  message: string;
  offset_seconds: number;
}

export interface CreatedStream {
  stream: Stream;
  stream_key: string;
  rtmp_url: string;
  playback_url: string;
}

export interface ChatMessage {
  stream_id?: string;
  user_id: string;
  username: string;
  message: string;
  created_at: string;
  comment_id: string;
}

export interface TrendingItem {
  id: string;
  title: string;
  score: number;
  thumbnail_url?: string | null;
  duration_seconds?: number | null;
  view_count?: number;
  owner_username?: string;
}

export interface Model {
  name: string;
  version: string | number;
  path: string;
  inputs?: unknown;
  outputs?: unknown;
  loaded_at: string;
  inference_count: number;
  avg_latency_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface Experiment {
  key: string;
  description?: string | null;
  variants: Array<{ key: string; weight: number }>;
  traffic_percent: number;
  metric: string;
  metric_type?: string;
  status?: string;
  created_at?: string;
}

export interface VariantResult {
  key: string;
  users: number;
  conversions: number;
  rate: number;
  lift: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
}

export interface ExperimentResults {
  key: string;
  metric?: string;
  variants: VariantResult[];
  srm: { p_value: number; flag: boolean };
  note?: string | null;
}

export interface QoeFields {
  sessions: number;
  startup_ms: { p50: number | null; p95: number | null };
  rebuffer_ratio: number;
  rebuffers_per_hour: number;
  error_sessions_ratio: number;
  avg_bitrate_kbps: number | null;
  renditions: Array<{ height: number; share_of_time: number }>;
  rebuffers: number;
  level_switches: number;
  viewing_seconds: number;
  rebuffer_seconds: number;
}

export interface QoeSummary extends QoeFields {
  window: string;
  from: string;
  hours?: Array<QoeFields & { start: string }>;
  days?: Array<QoeFields & { start: string }>;
}
