// Model-serving calls of the typed client (used by tests and benchmarks).
import type { ApiResponse, NovaClient } from './nova-client.js';

export interface TensorSpecInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

export interface ModelInfo {
  name: string;
  version: number;
  path: string;
  inputs: TensorSpecInfo[];
  outputs: TensorSpecInfo[];
  loaded_at: string;
  batching: boolean;
  extra_versions: number[];
  inference_count: number;
  failure_count: number;
  window: number;
  avg_latency_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  avg_queue_ms: number | null;
  avg_compute_ms: number | null;
  avg_batch_size: number | null;
  avg_batch_rows: number | null;
}

export interface JsonTensor {
  dims: number[];
  data: unknown[];
}

export interface InferResponse {
  outputs: Record<string, { dims: number[]; data: number[] }>;
  latency_ms: number;
  model_version: number;
}

export function listModels(c: NovaClient): Promise<ApiResponse<{ models: ModelInfo[] }>> {
  return c.get('/api/v1/models');
}

export function reloadModel(c: NovaClient, name: string, body: { path?: string; version?: number } = {}): Promise<ApiResponse<{ model: ModelInfo; previous_version: number | null }>> {
  return c.post(`/api/v1/models/${encodeURIComponent(name)}/reload`, body);
}

export function infer(c: NovaClient, name: string, inputs: Record<string, JsonTensor>, version?: number): Promise<ApiResponse<InferResponse>> {
  return c.post(`/api/v1/models/${encodeURIComponent(name)}/infer`, version === undefined ? { inputs } : { inputs, version });
}
