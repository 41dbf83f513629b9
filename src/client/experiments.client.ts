// Typed calls for experiments.
import type { AssignmentJson, ConversionResultJson, ExperimentJson, ResultsJson } from '../experiments/experiments.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// The create body (the schema's guardrail metric union does not narrow to a static type).
export interface ExperimentInput {
  key: string;
  variants: Array<{ key: string; weight: number }>;
  traffic_percent: number;
  metric: string;
  metric_type?: 'binary' | 'numeric';
  guardrails?: Array<{ metric: 'rebuffer_ratio' | 'startup_ms_p50' | 'error_sessions_ratio'; max_regression: number }>;
  auto_stop?: boolean;
}

// Response shapes come from the server's TypeBox schemas (type-only imports).
export type ExperimentResults = ResultsJson;
export type VariantResult = ResultsJson['variants'][number];

export const experiments = {
  create: (c: NovaClient, body: ExperimentInput): Promise<ApiResponse<ExperimentJson>> => c.post('/api/v1/experiments', body),
  setTraffic: (c: NovaClient, key: string, traffic_percent: number) => c.request('PATCH', `/api/v1/experiments/${key}`, { traffic_percent }),
  stop: (c: NovaClient, key: string) => c.post(`/api/v1/experiments/${key}/stop`),
  assignment: (c: NovaClient, key: string) => c.get<AssignmentJson>(`/api/v1/experiments/${key}/assignment`),
  convert: (c: NovaClient, key: string, metric: string, value?: number) => c.post<ConversionResultJson>(`/api/v1/experiments/${key}/conversions`, { metric, value }),
  results: (c: NovaClient, key: string) => c.get<ExperimentResults>(`/api/v1/experiments/${key}/results`),
};
