// Model-serving calls of the typed client (used by tests and benchmarks).
import type { InferResultJson, ModelInfoJson, ModelListJson, ReloadResultJson, TensorSpecJson } from '../models/models.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type TensorSpecInfo = TensorSpecJson;
export type ModelInfo = ModelInfoJson;

export interface JsonTensor {
  dims: number[];
  data: unknown[];
}

/** The server's InferResult, narrowed to numeric outputs (what Nova's float models return). */
export type InferResponse = Omit<InferResultJson, 'outputs'> & { outputs: Record<string, { dims: number[]; data: number[] }> };

export function listModels(c: NovaClient): Promise<ApiResponse<ModelListJson>> {
  return c.get('/api/v1/models');
}

export function reloadModel(c: NovaClient, name: string, body: { path?: string; version?: number } = {}): Promise<ApiResponse<ReloadResultJson>> {
  return c.post(`/api/v1/models/${encodeURIComponent(name)}/reload`, body);
}

export function infer(c: NovaClient, name: string, inputs: Record<string, JsonTensor>, version?: number): Promise<ApiResponse<InferResponse>> {
  return c.post(`/api/v1/models/${encodeURIComponent(name)}/infer`, version === undefined ? { inputs } : { inputs, version });
}
