// Request/response schemas of the experiments endpoints.
import { Type } from 'typebox';

const Key = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_.-]+$' });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const VariantInput = Type.Object({ key: Key, weight: Type.Number({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });

export const CreateExperiment = Type.Object(
  {
    key: Key,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    variants: Type.Array(VariantInput, { minItems: 2, maxItems: 20 }),
    traffic_percent: Type.Number({ minimum: 0, maximum: 100 }),
    metric: Type.String({ minLength: 1, maxLength: 64 }),
    metric_type: Type.Optional(Type.Union([Type.Literal('binary'), Type.Literal('numeric')])),
  },
  { additionalProperties: false },
);

export const ExperimentSchema = Type.Object({
  key: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  variants: Type.Array(Type.Object({ key: Type.String(), weight: Type.Number() })),
  traffic_percent: Type.Number(),
  metric: Type.String(),
  metric_type: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
  stopped_at: Type.Union([Type.String(), Type.Null()]),
});

export const PatchExperiment = Type.Object({ traffic_percent: Type.Number({ minimum: 0, maximum: 100 }) }, { additionalProperties: false });
export const KeyParams = Type.Object({ key: Key });
export const Assignment = Type.Object({ variant: Type.Union([Type.String(), Type.Null()]), experiment: Type.String() });
/**
 * Largest magnitude of one conversion value. Wide enough for any real metric (seconds, cents,
 * counts), small enough that sums over many users and their squares stay far from overflow.
 */
export const MAX_CONVERSION_VALUE = 1e9;

export const ConversionBody = Type.Object(
  {
    metric: Type.String({ minLength: 1, maxLength: 64 }),
    value: Type.Optional(Type.Number({ minimum: -MAX_CONVERSION_VALUE, maximum: MAX_CONVERSION_VALUE, description: `Numeric metrics only; at most ${MAX_CONVERSION_VALUE} in magnitude (default 1)` })),
  },
  { additionalProperties: false },
);
export const ConversionResult = Type.Object({ recorded: Type.Boolean(), variant: Type.Union([Type.String(), Type.Null()]) });

export const ResultsSchema = Type.Object({
  key: Type.String(),
  metric: Type.String(),
  metric_type: Type.String(),
  status: Type.String(),
  variants: Type.Array(
    Type.Object({
      key: Type.String(),
      users: Type.Integer(),
      conversions: Type.Integer(),
      rate: Type.Number(),
      lift: NullableNumber,
      absolute_lift: NullableNumber,
      ci_low: NullableNumber,
      ci_high: NullableNumber,
      absolute_ci_low: NullableNumber,
      absolute_ci_high: NullableNumber,
      p_value: NullableNumber,
    }),
  ),
  srm: Type.Object({ p_value: Type.Number(), flag: Type.Boolean() }),
  note: Type.Union([Type.String(), Type.Null()]),
});
