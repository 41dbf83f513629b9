// Every migration, in order. Names sort lexically; a new capability adds its file and one line here.
import { accounts } from './0001_accounts.js';
import { outbox } from './0002_outbox.js';
import { videos } from './0003_videos.js';
import { eventsWebhooks } from './0004_events_webhooks.js';
import { live } from './0005_live.js';
import { chat } from './0006_chat.js';
import { engagement } from './0007_engagement.js';
import { experiments } from './0008_experiments.js';
import { conversionUserIndex } from './0009_conversion_user_index.js';
import { videoManagement } from './0012_video_management.js';
import { search } from './0013_search.js';
import { liveBroadcasts } from './0014_live_broadcasts.js';
import { clips } from './0015_clips.js';
import { qoe } from './0016_qoe.js';
import { videoEncoding } from './0017_video_encoding.js';
import { adminModeration } from './0018_admin_moderation.js';
import { searchRankingWindow } from './0019_search_ranking_window.js';
import { searchFtsMerge } from './0020_search_fts_merge.js';
import { liveIngestHealth } from './0021_live_ingest_health.js';
import type { MigrationFactory } from './types.js';

export const migrations: Record<string, MigrationFactory> = {
  '0001_accounts': accounts,
  '0002_outbox': outbox,
  '0003_videos': videos,
  '0004_events_webhooks': eventsWebhooks,
  '0005_live': live,
  '0006_chat': chat,
  '0007_engagement': engagement,
  '0008_experiments': experiments,
  '0009_conversion_user_index': conversionUserIndex,
  '0012_video_management': videoManagement,
  '0013_search': search,
  '0014_live_broadcasts': liveBroadcasts,
  '0015_clips': clips,
  '0016_qoe': qoe,
  '0017_video_encoding': videoEncoding,
  '0018_admin_moderation': adminModeration,
  '0019_search_ranking_window': searchRankingWindow,
  '0020_search_fts_merge': searchFtsMerge,
  '0021_live_ingest_health': liveIngestHealth,
};
