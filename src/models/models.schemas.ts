// Request and response schemas of the model-serving endpoints.
import { Type, type Static } from 'typebox';

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const NameParams = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', description: 'Model name: 1-64 of [A-Za-z0-9_.-], not starting with a dot or dash' }),
});

export const TensorSpecSchema = Type.Object({
  name: Type.String(),
  type: Type.String({ description: 'Element type, e.g. float32' }),
  shape: Type.Array(Type.Union([Type.Integer(), Type.String()]), { description: 'Fixed dimensions as numbers, dynamic ones by their symbolic name' }),
});

export const ModelInfoSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  path: Type.String({ description: 'Relative to MODELS_DIR for files in the repository' }),
  inputs: Type.Array(TensorSpecSchema),
  outputs: Type.Array(TensorSpecSchema),
  loaded_at: Type.String({ format: 'date-time' }),
  batching: Type.Boolean({ description: 'Whether concurrent requests are joined into batches' }),
  extra_versions: Type.Array(Type.Integer(), { description: 'Other versions loaded on request (experiments)' }),
  inference_count: Type.Integer(),
  failure_count: Type.Integer(),
  window: Type.Integer({ description: 'Inferences the latency figures cover (the most recent ones)' }),
  avg_latency_ms: NullableNumber,
  p50_ms: NullableNumber,
  p95_ms: NullableNumber,
  p99_ms: NullableNumber,
  avg_queue_ms: NullableNumber,
  avg_compute_ms: NullableNumber,
  avg_batch_size: Type.Union([Type.Number(), Type.Null()], { description: 'Requests per executed batch' }),
  avg_batch_rows: NullableNumber,
});

export const ModelList = Type.Object({ models: Type.Array(ModelInfoSchema) });

export const ReloadBody = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'A model file under MODELS_DIR (relative or absolute) or an allowed directory' })),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 999_999_999, description: 'A version directory under MODELS_DIR/<name>/' })),
  },
  { additionalProperties: false },
);

export const ReloadResult = Type.Object({
  model: ModelInfoSchema,
  previous_version: Type.Union([Type.Integer(), Type.Null()]),
});

const JsonTensor = Type.Object({
  dims: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 16 }),
  data: Type.Array(Type.Unknown(), { description: 'Row-major values, flat or nested' }),
});

export const InferBody = Type.Object(
  {
    inputs: Type.Record(Type.String(), JsonTensor),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Run another version than the serving one (loaded on demand)' })),
  },
  { additionalProperties: false },
);

export const InferResultSchema = Type.Object({
  outputs: Type.Record(Type.String(), Type.Object({ dims: Type.Array(Type.Integer()), data: Type.Array(Type.Union([Type.Number(), Type.String(), Type.Boolean()])) })),
  latency_ms: Type.Number(),
  model_version: Type.Integer(),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type TensorSpecJson = Static<typeof TensorSpecSchema>;
export type ModelInfoJson = Static<typeof ModelInfoSchema>;
export type ModelListJson = Static<typeof ModelList>;
export type ReloadResultJson = Static<typeof ReloadResult>;
export type InferResultJson = Static<typeof InferResultSchema>;
