// Typed calls for playback quality.
import type { ApiResponse, NovaClient } from './nova-client.js';

// The summary types are the server's own, so a renamed field fails the client's type check.
import type { QoeSummary } from '../qoe/qoe.service.js';
export type { QoeFields, QoeSummary } from '../qoe/qoe.service.js';

export interface EventBatch {
  session_id: string;
  video_id?: string;
  stream_id?: string;
  events: Array<Record<string, unknown> & { type: string; at_ms: number }>;
}

export const qoe = {
  report: (c: NovaClient, batch: EventBatch | string): Promise<ApiResponse<unknown>> => c.post('/api/v1/playback/events', batch),
  video: (c: NovaClient, id: string, window = '24h') => c.get<QoeSummary>(`/api/v1/videos/${id}/qoe?window=${window}`),
  stream: (c: NovaClient, id: string, window = '24h') => c.get<QoeSummary>(`/api/v1/streams/${id}/qoe?window=${window}`),
  instance: (c: NovaClient, window = '24h') => c.get<QoeSummary>(`/api/v1/qoe?window=${window}`),
};
