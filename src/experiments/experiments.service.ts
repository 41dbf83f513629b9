// A/B experiments: definitions, sticky deterministic assignment with one logged exposure,
// conversions, and results with honest statistics (z-test / Welch, CIs, SRM check).
import { v7 as uuidv7 } from 'uuid';
import { isUniqueViolation } from '../infra/db/database.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../http/errors.js';
import { chooseVariant, hashPosition, type WeightedVariant } from './assignment.js';
import { ExperimentsRepository, type ExperimentTable } from './experiments.repository.js';
import { MAX_CONVERSION_VALUE } from './experiments.schemas.js';
import { srmTest, summarize, twoProportionTest, welchTest } from './stats.js';

export type MetricType = 'binary' | 'numeric';

export interface Experiment {
  key: string;
  description: string | null;
  variants: WeightedVariant[];
  traffic_percent: number;
  metric: string;
  metric_type: MetricType;
  status: 'running' | 'stopped';
  created_at: string;
  stopped_at: string | null;
}

export interface VariantResult {
  key: string;
  users: number;
  conversions: number;
  rate: number;
  lift: number | null;
  absolute_lift: number | null;
  ci_low: number | null;
  ci_high: number | null;
  absolute_ci_low: number | null;
  absolute_ci_high: number | null;
  p_value: number | null;
}

export interface Results {
  key: string;
  metric: string;
  metric_type: MetricType;
  status: string;
  variants: VariantResult[];
  srm: { p_value: number; flag: boolean };
  note: string | null;
}

/** Below these, results are shown but flagged as too small to conclude anything. */
const MIN_USERS_PER_VARIANT = 100;
const MIN_CONVERSIONS_PER_VARIANT = 10;
const SRM_THRESHOLD = 0.001;
/**
 * Conversions one user may record in one experiment. Results already count each user once (their
 * values summed), so this bounds how far one user can move a numeric mean and how many rows a
 * flood of requests can write; binary metrics count a user at most once however many they send.
 */
export const MAX_CONVERSIONS_PER_USER = 1000;
/** The largest per-user total the two limits above allow; older rows are held to it as well. */
const MAX_USER_TOTAL = MAX_CONVERSION_VALUE * MAX_CONVERSIONS_PER_USER;

/** Statistics that degenerate (e.g. a relative lift over a control mean near 0) are reported as null. */
function finiteOrNull(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
}

function toExperiment(r: ExperimentTable): Experiment {
  return {
    key: r.key,
    description: r.description,
    variants: JSON.parse(r.variants) as WeightedVariant[],
    traffic_percent: Number(r.traffic_percent),
    metric: r.metric,
    metric_type: r.metric_type as MetricType,
    status: r.status as Experiment['status'],
    created_at: r.created_at,
    stopped_at: r.stopped_at,
  };
}

export class ExperimentsService {
  constructor(private readonly repo: ExperimentsRepository) {}

  async create(input: { key: string; description?: string; variants: WeightedVariant[]; traffic_percent: number; metric: string; metric_type?: MetricType }, userId: string): Promise<Experiment> {
    const keys = new Set(input.variants.map((v) => v.key));
    if (keys.size !== input.variants.length) throw new UnprocessableError('Variant keys must be unique.', [{ field: 'variants', message: 'duplicate key' }]);
    if (input.variants.reduce((s, v) => s + v.weight, 0) <= 0) throw new UnprocessableError('Variant weights must add up to more than 0.', [{ field: 'variants', message: 'weights sum to 0' }]);
    const row: ExperimentTable = {
      key: input.key,
      description: input.description ?? null,
      variants: JSON.stringify(input.variants.map((v) => ({ key: v.key, weight: v.weight }))),
      traffic_percent: input.traffic_percent,
      metric: input.metric,
      metric_type: input.metric_type ?? 'binary',
      status: 'running',
      created_by: userId,
      created_at: new Date().toISOString(),
      stopped_at: null,
    };
    try {
      await this.repo.insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`An experiment with key "${input.key}" exists.`);
      throw err;
    }
    return toExperiment(row);
  }

  async get(key: string): Promise<Experiment> {
    const row = await this.repo.find(key);
    if (!row) throw new NotFoundError(`No experiment "${key}".`);
    return toExperiment(row);
  }

  async list(): Promise<Experiment[]> {
    return (await this.repo.list()).map(toExperiment);
  }

  /** Changes traffic; lowering it would move users out, so only raising is allowed. */
  async setTraffic(key: string, trafficPercent: number): Promise<Experiment> {
    const e = await this.get(key);
    if (trafficPercent < e.traffic_percent) {
      throw new UnprocessableError('traffic_percent can only be raised: lowering it would drop assigned users mid-experiment.', [{ field: 'traffic_percent', message: `must be ≥ ${e.traffic_percent}` }]);
    }
    await this.repo.update(key, { traffic_percent: trafficPercent });
    return { ...e, traffic_percent: trafficPercent };
  }

  async stop(key: string): Promise<Experiment> {
    const e = await this.get(key);
    if (e.status === 'stopped') return e;
    const now = new Date().toISOString();
    await this.repo.update(key, { status: 'stopped', stopped_at: now });
    return { ...e, status: 'stopped', stopped_at: now };
  }

  /**
   * The user's variant: the stored one if any (sticky), else computed from the hash and stored,
   * which logs the exposure once. Stopped experiments assign nobody new.
   */
  async assign(key: string, userId: string): Promise<{ variant: string | null; new_exposure: boolean }> {
    const e = await this.get(key);
    const existing = await this.repo.findAssignment(key, userId);
    if (existing) return { variant: existing.variant, new_exposure: false };
    if (e.status !== 'running') return { variant: null, new_exposure: false };
    const variant = chooseVariant(hashPosition(key, userId), e.variants, e.traffic_percent / 100);
    if (!variant) return { variant: null, new_exposure: false };
    const { row, created } = await this.repo.assign({ experiment_key: key, user_id: userId, variant, assigned_at: new Date().toISOString() });
    return { variant: row.variant, new_exposure: created };
  }

  /** Records a conversion for an assigned user; users outside the experiment are not counted. */
  async convert(key: string, userId: string, metric: string, value?: number): Promise<{ recorded: boolean; variant: string | null }> {
    const e = await this.get(key);
    if (metric !== e.metric) throw new UnprocessableError(`Experiment "${key}" measures "${e.metric}", not "${metric}".`, [{ field: 'metric', message: `expected ${e.metric}` }]);
    const a = await this.repo.findAssignment(key, userId);
    if (!a) return { recorded: false, variant: null };
    // Checked before the insert, not with it: concurrent requests of one user may pass the cap by
    // a few, which the per-user bound on totals in results() absorbs.
    if ((await this.repo.countUserConversions(key, userId)) >= MAX_CONVERSIONS_PER_USER) {
      throw new ConflictError(`You have recorded the maximum of ${MAX_CONVERSIONS_PER_USER} conversions in experiment "${key}"; further ones are not recorded.`);
    }
    await this.repo.insertConversion({ id: uuidv7(), experiment_key: key, user_id: userId, variant: a.variant, metric, value: value ?? 1, created_at: new Date().toISOString() });
    return { recorded: true, variant: a.variant };
  }

  async results(key: string): Promise<Results> {
    const e = await this.get(key);
    const users = await this.repo.usersPerVariant(key);
    const perUser = await this.repo.valuesPerUser(key, e.metric, MAX_CONVERSION_VALUE);
    const byVariant = new Map<string, number[]>();
    for (const r of perUser) {
      const list = byVariant.get(r.variant) ?? [];
      // Bounded, so means and variances over users stay finite whatever rows are stored.
      list.push(Math.min(MAX_USER_TOTAL, Math.max(-MAX_USER_TOTAL, r.total)));
      byVariant.set(r.variant, list);
    }
    const stat = e.variants.map((v) => {
      const n = users.get(v.key) ?? 0;
      const values = byVariant.get(v.key) ?? [];
      const conversions = values.length;
      // Non-converting users count as 0 for numeric metrics.
      const padded = values.concat(new Array(Math.max(0, n - values.length)).fill(0));
      const sample = summarize(padded);
      return { key: v.key, n, conversions, sample, rate: e.metric_type === 'binary' ? (n ? conversions / n : 0) : sample.mean };
    });
    const control = stat[0];
    const variants: VariantResult[] = stat.map((s, i) => {
      if (i === 0) {
        return { key: s.key, users: s.n, conversions: s.conversions, rate: s.rate, lift: 0, absolute_lift: 0, ci_low: null, ci_high: null, absolute_ci_low: null, absolute_ci_high: null, p_value: null };
      }
      const t = e.metric_type === 'binary' ? twoProportionTest(control.conversions, control.n, s.conversions, s.n) : welchTest(control.sample, s.sample);
      return {
        key: s.key,
        users: s.n,
        conversions: s.conversions,
        rate: s.rate,
        lift: finiteOrNull(t.relativeLift),
        absolute_lift: finiteOrNull(t.absoluteLift),
        ci_low: finiteOrNull(t.ciLow),
        ci_high: finiteOrNull(t.ciHigh),
        absolute_ci_low: finiteOrNull(t.absCiLow),
        absolute_ci_high: finiteOrNull(t.absCiHigh),
        p_value: finiteOrNull(t.pValue),
      };
    });
    const srmP = srmTest(stat.map((s) => s.n), e.variants.map((v) => v.weight));
    const small = stat.some((s) => s.n < MIN_USERS_PER_VARIANT || (e.metric_type === 'binary' && s.conversions < MIN_CONVERSIONS_PER_VARIANT));
    return {
      key,
      metric: e.metric,
      metric_type: e.metric_type,
      status: e.status,
      variants,
      srm: { p_value: srmP, flag: srmP < SRM_THRESHOLD },
      note: small
        ? `Sample too small to conclude: each variant needs at least ${MIN_USERS_PER_VARIANT} users${e.metric_type === 'binary' ? ` and ${MIN_CONVERSIONS_PER_VARIANT} conversions` : ''}.`
        : null,
    };
  }
}
