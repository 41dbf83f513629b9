// Shapes of the public API (see API.md) as the web app reads them: the server's TypeBox schema types,
// imported type-only (erased from the bundle), so a field renamed on the server fails this app's
// type check. A few add optional fields the app shows when the server sends them.
import type { ChannelJson, ChannelStreamJson } from '../../src/channels/channels.schemas.js';
import type { ChatMessageJson } from '../../src/chat/chat.schemas.js';
import type { ReplayMessageJson } from '../../src/clips/clips.schemas.js';
import type { EngagementSummaryJson } from '../../src/engagement/engagement.schemas.js';
import type { ExperimentJson, ResultsJson } from '../../src/experiments/experiments.schemas.js';
import type { BroadcastJson, CreatedStreamJson, IngestHealthJson, StreamIngestJson, StreamJson } from '../../src/live/live.schemas.js';
import type { ModelInfoJson } from '../../src/models/models.schemas.js';
import type { QoeBucketJson, QoeSummaryJson } from '../../src/qoe/qoe.schemas.js';
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
export type StreamIngest = StreamIngestJson;
export type IngestHealth = IngestHealthJson;
export type ChatMessage = ChatMessageJson;
export type TrendingItem = TrendingItemJson;
export type Model = ModelInfoJson;
export type Experiment = ExperimentJson;

export type ExperimentResults = ResultsJson;
export type VariantResult = ResultsJson['variants'][number];
/** The figures of one QoE window or bucket (without its start). */
export type QoeFields = Omit<QoeBucketJson, 'start'>;
export type QoeSummary = QoeSummaryJson;
