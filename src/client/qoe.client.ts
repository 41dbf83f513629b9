// Typed calls for playback quality.
import type { ApiResponse, NovaClient } from './nova-client.js';

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

export interface EventBatch {
  session_id: string;
  video_id?: string;
  stream_id?: string;
  events: Array<Record<string, unknown> & { type: string; at_ms: number }>;
}

export const qoe = {
  report: (c: NovaClient, batch: EventBatch | string): Promise<ApiResponse<unknown>> => c.post('/api/v1/playback/events', batch),
  video: (c: NovaClient, id: string, window = '24h') => c.get<QoeSummary>(`/api/v1/videos/${id}/qoe?window=${window}`),
  instance: (c: NovaClient, window = '24h') => c.get<QoeSummary>(`/api/v1/qoe?window=${window}`),
};
