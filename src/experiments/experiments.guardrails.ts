// Guardrails: playback-quality metrics of an experiment's users, per variant, read from the QoE
// capability (sessions started after each user's exposure), compared with the control's using
// always-valid confidence sequences, because they are checked again and again while it runs.
import type { UserSession } from '../qoe/qoe.repository.js';
import type { AssignmentTable } from './experiments.repository.js';
import type { GuardrailMetric } from './experiments.schemas.js';
import { compareGuardrail, medianEstimate, ratioEstimate, type Estimate } from './stats.guardrails.js';

export interface GuardrailSpec {
  metric: GuardrailMetric;
  max_regression: number;
}

export interface GuardrailResult {
  metric: GuardrailMetric;
  max_regression: number;
  control: number | null;
  value: number | null;
  lift: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
  units: number;
  flag: boolean;
}

/** What experiments read from QoE. */
export interface SessionsReader {
  sessionsOfUsers(userIds: string[], since: string): Promise<UserSession[]>;
}

/** Fewer users (or, for the median, sessions) than this per variant never flag. */
export const MIN_GUARDRAIL_UNITS = 100;

function estimate(metric: GuardrailMetric, users: string[], sessions: Map<string, UserSession[]>): Estimate {
  if (metric === 'startup_ms_p50') {
    const startups: number[] = [];
    for (const u of users) for (const s of sessions.get(u) ?? []) if (s.startup_ms !== null) startups.push(s.startup_ms);
    return medianEstimate(startups);
  }
  const x = new Float64Array(users.length);
  const y = new Float64Array(users.length);
  users.forEach((u, i) => {
    for (const s of sessions.get(u) ?? []) {
      if (metric === 'rebuffer_ratio') {
        x[i] += s.rebuffer_ms;
        y[i] += s.play_ms + s.rebuffer_ms;
      } else {
        x[i] += s.fatal ? 1 : 0;
        y[i] += 1;
      }
    }
  });
  return ratioEstimate(x, y);
}

/** Guardrail results per variant key (the first variant is the control). */
export async function evaluateGuardrails(
  reader: SessionsReader,
  specs: GuardrailSpec[],
  variantKeys: string[],
  assignments: AssignmentTable[],
  since: string,
): Promise<Map<string, GuardrailResult[]>> {
  const assignedAt = new Map(assignments.map((a) => [a.user_id, new Date(a.assigned_at).getTime()]));
  const sessions = new Map<string, UserSession[]>();
  for (const s of await reader.sessionsOfUsers([...assignedAt.keys()], since)) {
    // Only what the user saw after their first exposure counts for the variant.
    if (new Date(s.started_at).getTime() < assignedAt.get(s.user_id)!) continue;
    const list = sessions.get(s.user_id) ?? [];
    list.push(s);
    sessions.set(s.user_id, list);
  }
  const usersOf = new Map<string, string[]>(variantKeys.map((k) => [k, []]));
  for (const a of assignments) usersOf.get(a.variant)?.push(a.user_id);
  const out = new Map<string, GuardrailResult[]>(variantKeys.map((k) => [k, []]));
  for (const spec of specs) {
    const est = new Map(variantKeys.map((k) => [k, estimate(spec.metric, usersOf.get(k)!, sessions)]));
    const control = est.get(variantKeys[0]!)!;
    const hasControl = control.units > 0;
    variantKeys.forEach((k, i) => {
      const e = est.get(k)!;
      const base = { metric: spec.metric, max_regression: spec.max_regression, control: hasControl ? control.value : null, value: e.units > 0 ? e.value : null, units: e.units };
      if (i === 0 || !hasControl || e.units === 0) {
        out.get(k)!.push({ ...base, lift: i === 0 ? 0 : null, ci_low: null, ci_high: null, p_value: null, flag: false });
        return;
      }
      const c = compareGuardrail(control, e, spec.max_regression);
      const enough = control.units >= MIN_GUARDRAIL_UNITS && e.units >= MIN_GUARDRAIL_UNITS;
      out.get(k)!.push({ ...base, lift: c.lift, ci_low: c.ciLow, ci_high: c.ciHigh, p_value: c.pValue, flag: enough && c.flag });
    });
  }
  return out;
}
