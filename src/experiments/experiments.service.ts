// A/B experiments: definitions, sticky deterministic assignment with one logged exposure,
// conversions, and results with honest statistics (z-test / Welch, CIs, SRM check), CUPED,
// always-valid p-values, and playback-quality guardrails that can stop an experiment.
import { v7 as uuidv7 } from 'uuid';
import { isUniqueViolation } from '../infra/db/database.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../http/errors.js';
import { chooseVariant, hashPosition, type WeightedVariant } from './assignment.js';
import { evaluateGuardrails, type GuardrailResult, type GuardrailSpec, type SessionsReader } from './experiments.guardrails.js';
import { ExperimentsRepository, type AssignmentTable, type ExperimentTable } from './experiments.repository.js';
import { MAX_CONVERSION_VALUE } from './experiments.schemas.js';
import { srmTest, summarize, twoProportionTest, welchTest, type Sample } from './stats.js';
import { addMoment, cupedTest, cupedTheta, emptyMoments, type Moments } from './stats.cuped.js';
import { effectiveN, sequentialPValue } from './stats.sequential.js';

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
  guardrails: GuardrailSpec[];
  auto_stop: boolean;
  stop_reason: string | null;
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
  lift_cuped: number | null;
  ci_low_cuped: number | null;
  ci_high_cuped: number | null;
  variance_reduction: number | null;
  p_value_sequential: number | null;
  guardrails?: GuardrailResult[];
}

export interface Results {
  key: string;
  metric: string;
  metric_type: MetricType;
  status: string;
  variants: VariantResult[];
  srm: { p_value: number; flag: boolean };
  stop_reason: string | null;
  note: string | null;
}

/** CUPED's pre-period: the days before the day of a user's first exposure. */
export const CUPED_PRE_DAYS = 14;

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
    guardrails: r.guardrails ? (JSON.parse(r.guardrails) as GuardrailSpec[]) : [],
    auto_stop: Number(r.auto_stop) === 1,
    stop_reason: r.stop_reason ?? null,
  };
}

const dayOf = (iso: string, minusDays = 0) => new Date(new Date(iso).getTime() - minusDays * 86_400_000).toISOString().slice(0, 10);

export class ExperimentsService {
  constructor(
    private readonly repo: ExperimentsRepository,
    private readonly sessions: SessionsReader | null = null,
  ) {}

  async create(
    input: { key: string; description?: string; variants: WeightedVariant[]; traffic_percent: number; metric: string; metric_type?: MetricType; guardrails?: GuardrailSpec[]; auto_stop?: boolean },
    userId: string,
  ): Promise<Experiment> {
    const guardrails = input.guardrails ?? [];
    if (new Set(guardrails.map((g) => g.metric)).size !== guardrails.length)
      throw new UnprocessableError('Each guardrail metric may be named once.', [{ field: 'guardrails', message: 'duplicate metric' }]);
    if (input.auto_stop && !guardrails.length) throw new UnprocessableError('auto_stop needs at least one guardrail.', [{ field: 'auto_stop', message: 'no guardrails to stop on' }]);
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
      guardrails: guardrails.length ? JSON.stringify(guardrails.map((g) => ({ metric: g.metric, max_regression: g.max_regression }))) : null,
      auto_stop: input.auto_stop ? 1 : 0,
      stop_reason: null,
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
      throw new UnprocessableError('traffic_percent can only be raised: lowering it would drop assigned users mid-experiment.', [
        { field: 'traffic_percent', message: `must be ≥ ${e.traffic_percent}` },
      ]);
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
   * which logs the exposure once. Stopped experiments assign nobody new and give everyone who was
   * assigned the control (the stored variant stays for the analysis).
   */
  async assign(key: string, userId: string): Promise<{ variant: string | null; new_exposure: boolean }> {
    const e = await this.get(key);
    const existing = await this.repo.findAssignment(key, userId);
    if (existing) return { variant: e.status === 'running' ? existing.variant : e.variants[0]!.key, new_exposure: false };
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
    const now = new Date().toISOString();
    const a = await this.repo.findAssignment(key, userId);
    // Recorded for users not (yet) exposed too: CUPED reads their days before exposure.
    if (!a) {
      if (e.status === 'running') await this.repo.addMetricDay(userId, metric, now, value ?? 1);
      return { recorded: false, variant: null };
    }
    // Checked before the insert, not with it: concurrent requests of one user may pass the cap by
    // a few, which the per-user bound on totals in results() absorbs.
    if ((await this.repo.countUserConversions(key, userId)) >= MAX_CONVERSIONS_PER_USER) {
      throw new ConflictError(`You have recorded the maximum of ${MAX_CONVERSIONS_PER_USER} conversions in experiment "${key}"; further ones are not recorded.`);
    }
    await this.repo.insertConversion({ id: uuidv7(), experiment_key: key, user_id: userId, variant: a.variant, metric, value: value ?? 1, created_at: now });
    await this.repo.addMetricDay(userId, metric, now, value ?? 1);
    return { recorded: true, variant: a.variant };
  }

  async results(key: string): Promise<Results> {
    const e = await this.get(key);
    const assignments = await this.repo.assignments(key);
    const users = new Map<string, number>();
    for (const a of assignments) users.set(a.variant, (users.get(a.variant) ?? 0) + 1);
    const perUser = await this.repo.valuesPerUser(key, e.metric, MAX_CONVERSION_VALUE);
    const byVariant = new Map<string, number[]>();
    const totals = new Map<string, number>();
    for (const r of perUser) {
      const list = byVariant.get(r.variant) ?? [];
      // Bounded, so means and variances over users stay finite whatever rows are stored.
      const total = Math.min(MAX_USER_TOTAL, Math.max(-MAX_USER_TOTAL, r.total));
      list.push(total);
      byVariant.set(r.variant, list);
      totals.set(r.user_id, total);
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
    const cuped = await this.cupedMoments(e, assignments, totals);
    const theta = cupedTheta([...cuped.values()]);
    const guardrails =
      e.guardrails.length && this.sessions
        ? await evaluateGuardrails(
            this.sessions,
            e.guardrails,
            e.variants.map((v) => v.key),
            assignments,
            e.created_at,
          )
        : null;
    const control = stat[0]!;
    const variants: VariantResult[] = stat.map((s, i) => {
      const g = guardrails ? { guardrails: guardrails.get(s.key) ?? [] } : {};
      if (i === 0) {
        return {
          key: s.key,
          users: s.n,
          conversions: s.conversions,
          rate: s.rate,
          lift: 0,
          absolute_lift: 0,
          ci_low: null,
          ci_high: null,
          absolute_ci_low: null,
          absolute_ci_high: null,
          p_value: null,
          lift_cuped: 0,
          ci_low_cuped: null,
          ci_high_cuped: null,
          variance_reduction: null,
          p_value_sequential: null,
          ...g,
        };
      }
      const t = e.metric_type === 'binary' ? twoProportionTest(control.conversions, control.n, s.conversions, s.n) : welchTest(control.sample, s.sample);
      const c = control.n && s.n ? cupedTest(cuped.get(control.key)!, cuped.get(s.key)!, theta) : null;
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
        lift_cuped: finiteOrNull(c?.relativeLift ?? null),
        ci_low_cuped: finiteOrNull(c?.ciLow ?? null),
        ci_high_cuped: finiteOrNull(c?.ciHigh ?? null),
        variance_reduction: finiteOrNull(c ? c.varianceReduction : null),
        p_value_sequential: finiteOrNull(sequentialP(e.metric_type, control, s)),
        ...g,
      };
    });
    const srmP = srmTest(
      stat.map((s) => s.n),
      e.variants.map((v) => v.weight),
    );
    const small = stat.some((s) => s.n < MIN_USERS_PER_VARIANT || (e.metric_type === 'binary' && s.conversions < MIN_CONVERSIONS_PER_VARIANT));
    return {
      key,
      metric: e.metric,
      metric_type: e.metric_type,
      status: e.status,
      variants,
      srm: { p_value: srmP, flag: srmP < SRM_THRESHOLD },
      stop_reason: e.stop_reason,
      note: small
        ? `Sample too small to conclude: each variant needs at least ${MIN_USERS_PER_VARIANT} users${e.metric_type === 'binary' ? ` and ${MIN_CONVERSIONS_PER_VARIANT} conversions` : ''}.`
        : null,
    };
  }

  /**
   * Per variant, CUPED's sums over users of (pre-period value X, metric Y). X is the user's value
   * of the same metric over the CUPED_PRE_DAYS days before the day of their first exposure
   * (converted at all, for binary metrics; the sum, for numeric ones).
   */
  private async cupedMoments(e: Experiment, assignments: AssignmentTable[], totals: Map<string, number>): Promise<Map<string, Moments>> {
    const binary = e.metric_type === 'binary';
    const pre = new Map<string, number>();
    if (assignments.length) {
      const exposedDay = new Map(assignments.map((a) => [a.user_id, dayOf(a.assigned_at)]));
      for (const r of await this.repo.metricDaysOfUsers(e.key, e.metric, dayOf(e.created_at, CUPED_PRE_DAYS))) {
        const day = exposedDay.get(r.user_id)!;
        if (r.day >= day || r.day < dayOf(`${day}T00:00:00.000Z`, CUPED_PRE_DAYS)) continue;
        pre.set(r.user_id, binary ? (r.count > 0 ? 1 : (pre.get(r.user_id) ?? 0)) : Math.min(MAX_USER_TOTAL, Math.max(-MAX_USER_TOTAL, (pre.get(r.user_id) ?? 0) + r.total)));
      }
    }
    const out = new Map<string, Moments>(e.variants.map((v) => [v.key, emptyMoments()]));
    for (const a of assignments) {
      const m = out.get(a.variant);
      if (!m) continue;
      const total = totals.get(a.user_id);
      addMoment(m, pre.get(a.user_id) ?? 0, binary ? (total === undefined ? 0 : 1) : (total ?? 0));
    }
    return out;
  }

  /**
   * Stops every running auto-stop experiment whose guardrail flags a treatment, with an
   * `experiment.stopped` event; returns the keys stopped. Safe to run on every node at once.
   */
  async checkGuardrails(): Promise<string[]> {
    if (!this.sessions) return [];
    const stopped: string[] = [];
    for (const e of await this.list()) {
      if (e.status !== 'running' || !e.auto_stop || !e.guardrails.length) continue;
      const results = await evaluateGuardrails(
        this.sessions,
        e.guardrails,
        e.variants.map((v) => v.key),
        await this.repo.assignments(e.key),
        e.created_at,
      );
      const flagged = [...results.entries()].flatMap(([variant, list]) => list.filter((g) => g.flag).map((g) => ({ variant, ...g })));
      if (!flagged.length) continue;
      const first = flagged[0]!;
      const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
      const reason = `guardrail ${first.metric}: variant "${first.variant}" is ${pct(first.lift)} worse than control (always-valid 95 % CI ${pct(first.ci_low)} to ${pct(first.ci_high)}; limit ${pct(first.max_regression)})`;
      const now = new Date().toISOString();
      const payload = {
        experiment_key: e.key,
        reason,
        guardrails: flagged.map((g) => ({ variant: g.variant, metric: g.metric, lift: g.lift, ci_low: g.ci_low, max_regression: g.max_regression })),
        timestamp: now,
      };
      if (await this.repo.stopWithEvent(e.key, reason, now, payload)) stopped.push(e.key);
    }
    return stopped;
  }
}

/** The always-valid p-value of the plain difference (pooled variance under "no difference" for proportions). */
function sequentialP(type: MetricType, c: { n: number; conversions: number; sample: Sample }, v: { n: number; conversions: number; sample: Sample }): number | null {
  if (!c.n || !v.n) return null;
  let diff: number;
  let se: number;
  if (type === 'binary') {
    const pc = c.conversions / c.n;
    const pv = v.conversions / v.n;
    const pooled = (c.conversions + v.conversions) / (c.n + v.n);
    diff = pv - pc;
    se = Math.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / v.n));
  } else {
    diff = v.sample.mean - c.sample.mean;
    se = Math.sqrt(c.sample.variance / c.n + v.sample.variance / v.n);
  }
  if (!(se > 0)) return 1;
  return sequentialPValue(diff / se, effectiveN(c.n, v.n));
}
