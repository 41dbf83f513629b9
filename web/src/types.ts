// Shapes of the public API (see API.md) as the web app reads them. Fields beyond the contract are
// optional: the app shows them when the server sends them.

// Response shapes come from the server's TypeBox schemas through type-only imports (erased from the
// bundle), so a field renamed on the server fails this app's type check.
import type { ChannelJson, ChannelStreamJson } from '../../src/channels/channels.schemas.js';
import type { ChatMessageJson } from '../../src/chat/chat.schemas.js';
import type { ReplayMessageJson } from '../../src/clips/clips.schemas.js';
import type { EngagementSummaryJson } from '../../src/engagement/engagement.schemas.js';
import type { ExperimentJson } from '../../src/experiments/experiments.schemas.js';
import type { BroadcastJson, CreatedStreamJson, StreamJson } from '../../src/live/live.schemas.js';
import type { ModelInfoJson } from '../../src/models/models.schemas.js';
import type { SearchItemJson, SearchResultJson } from '../../src/search/search.schemas.js';
import type { TrendingItemJson } from '../../src/trending/trending.schemas.js';
import type { PlaybackJson, ProgressJson, RenditionJson, VideoJson, VideoStatus, Visibility } from '../../src/videos/videos.schemas.js';

export type { VideoStatus, Visibility };
export type Rendition = RenditionJson;
/** A video; the watch page's (GET /videos/{id}) also names its uploader, cards may carry a view count. */
export type Video = VideoJson & { owner_username?: string; view_count?: number };
export type SearchItem = SearchItemJson;
export type SearchResult = SearchResultJson;
export type ChannelStream = ChannelStreamJson;
export type Channel = ChannelJson;
export type Engagement = EngagementSummaryJson;
export type Playback = PlaybackJson;
export type Progress = ProgressJson;

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/** A live stream; a stream page also names its creator when the server sends it. */
export type Stream = StreamJson & { creator_username?: string };
export type Broadcast = BroadcastJson;
export type ReplayMessage = ReplayMessageJson;
export type CreatedStream = CreatedStreamJson;
export type ChatMessage = ChatMessageJson;
export type TrendingItem = TrendingItemJson;
export type Model = ModelInfoJson;
export type Experiment = ExperimentJson;

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
