// Request/response schemas of the experiments endpoints.
import { Type, type Static } from 'typebox';

const Key = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_.-]+$' });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const GUARDRAIL_METRICS = ['rebuffer_ratio', 'startup_ms_p50', 'error_sessions_ratio'] as const;
export type GuardrailMetric = (typeof GUARDRAIL_METRICS)[number];
export const Guardrail = Type.Object(
  {
    metric: Type.Union(GUARDRAIL_METRICS.map((m) => Type.Literal(m))),
    max_regression: Type.Number({ minimum: 0, maximum: 10, description: 'Largest tolerated relative worsening (0.1: 10 % worse than control)' }),
  },
  { additionalProperties: false },
);

export const VariantInput = Type.Object({ key: Key, weight: Type.Number({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });

export const CreateExperiment = Type.Object(
  {
    key: Key,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    variants: Type.Array(VariantInput, { minItems: 2, maxItems: 20 }),
    traffic_percent: Type.Number({ minimum: 0, maximum: 100 }),
    metric: Type.String({ minLength: 1, maxLength: 64 }),
    metric_type: Type.Optional(Type.Union([Type.Literal('binary'), Type.Literal('numeric')])),
    guardrails: Type.Optional(Type.Array(Guardrail, { maxItems: 3, description: 'Playback-quality metrics a treatment must not make worse' })),
    auto_stop: Type.Optional(Type.Boolean({ description: 'Stop the experiment (everyone gets control) when a guardrail flags', default: false })),
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
  guardrails: Type.Array(Type.Object({ metric: Type.String(), max_regression: Type.Number() })),
  auto_stop: Type.Boolean(),
  stop_reason: Type.Union([Type.String(), Type.Null()]),
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

const GuardrailResult = Type.Object({
  metric: Type.String(),
  max_regression: Type.Number(),
  control: NullableNumber,
  value: NullableNumber,
  lift: NullableNumber,
  ci_low: NullableNumber,
  ci_high: NullableNumber,
  p_value: NullableNumber,
  units: Type.Integer({ description: 'Users (ratios) or sessions (startup median) behind the value' }),
  flag: Type.Boolean({ description: 'Significantly worse than control by more than max_regression' }),
});

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
      lift_cuped: NullableNumber,
      ci_low_cuped: NullableNumber,
      ci_high_cuped: NullableNumber,
      variance_reduction: Type.Union([Type.Number(), Type.Null()], { description: "Share of the lift's variance CUPED removed" }),
      p_value_sequential: Type.Union([Type.Number(), Type.Null()], { description: 'Always-valid p-value (normal-mixture mSPRT), safe to read at any time' }),
      guardrails: Type.Optional(Type.Array(GuardrailResult, { description: 'Present when the experiment names guardrails; CIs are always-valid 95 % confidence sequences of the relative change' })),
    }),
  ),
  srm: Type.Object({ p_value: Type.Number(), flag: Type.Boolean() }),
  stop_reason: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
});

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ExperimentJson = Static<typeof ExperimentSchema>;
export type ResultsJson = Static<typeof ResultsSchema>;
export type AssignmentJson = Static<typeof Assignment>;
export type ConversionResultJson = Static<typeof ConversionResult>;
