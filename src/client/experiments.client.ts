// Typed calls for experiments.
import type { ApiResponse, NovaClient } from './nova-client.js';

export interface ExperimentInput {
  key: string;
  variants: Array<{ key: string; weight: number }>;
  traffic_percent: number;
  metric: string;
  metric_type?: 'binary' | 'numeric';
  guardrails?: Array<{ metric: 'rebuffer_ratio' | 'startup_ms_p50' | 'error_sessions_ratio'; max_regression: number }>;
  auto_stop?: boolean;
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
  lift_cuped?: number | null;
  ci_low_cuped?: number | null;
  ci_high_cuped?: number | null;
  variance_reduction?: number | null;
  p_value_sequential?: number | null;
  guardrails?: Array<{ metric: string; max_regression: number; control: number | null; value: number | null; lift: number | null; ci_low: number | null; ci_high: number | null; p_value: number | null; units: number; flag: boolean }>;
}

export interface ExperimentResults {
  key: string;
  variants: VariantResult[];
  srm: { p_value: number; flag: boolean };
  note: string | null;
}

export const experiments = {
  create: (c: NovaClient, body: ExperimentInput): Promise<ApiResponse<Record<string, unknown>>> => c.post('/api/v1/experiments', body),
  setTraffic: (c: NovaClient, key: string, traffic_percent: number) => c.request('PATCH', `/api/v1/experiments/${key}`, { traffic_percent }),
  stop: (c: NovaClient, key: string) => c.post(`/api/v1/experiments/${key}/stop`),
  assignment: (c: NovaClient, key: string) => c.get<{ variant: string | null }>(`/api/v1/experiments/${key}/assignment`),
  convert: (c: NovaClient, key: string, metric: string, value?: number) => c.post<{ recorded: boolean }>(`/api/v1/experiments/${key}/conversions`, { metric, value }),
  results: (c: NovaClient, key: string) => c.get<ExperimentResults>(`/api/v1/experiments/${key}/results`),
};
