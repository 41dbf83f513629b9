// Estimators behind guardrail metrics, all "lower is better": ratios of sums over users (rebuffer
// time over viewing time, error sessions over sessions) with delta-method variances, and the
// median startup time with the order-statistic variance of Price & Bonett (2001). A comparison
// reports the relative change with its always-valid confidence sequence, since guardrails are
// checked again and again while the experiment runs.
import { normalTwoSidedP, normalQuantile } from './stats.js';
import { effectiveN, sequentialHalfWidth } from './stats.sequential.js';

export interface Estimate {
  value: number;
  /** Variance of `value`. */
  variance: number;
  /** Independent units behind it (users for ratios, sessions for the median). */
  units: number;
}

/**
 * ΣX/ΣY over users, each user contributing (x_i, y_i); Var ≈ (s_x² − 2R s_xy + R² s_y²)/(n ȳ²)
 * (the delta method, as for per-user ratio metrics in Deng et al., 2018).
 */
export function ratioEstimate(x: ArrayLike<number>, y: ArrayLike<number>): Estimate {
  const n = y.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
  }
  if (n === 0 || sy <= 0) return { value: 0, variance: 0, units: n };
  const r = sx / sy;
  const mx = sx / n;
  const my = sy / n;
  let vxx = 0;
  let vyy = 0;
  let vxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    vxx += dx * dx;
    vyy += dy * dy;
    vxy += dx * dy;
  }
  const d = Math.max(1, n - 1);
  const variance = Math.max(0, (vxx / d - 2 * r * (vxy / d) + r * r * (vyy / d)) / (n * my * my));
  return { value: r, variance, units: n };
}

/**
 * The sample median with Price & Bonett's variance: ((x_(n−c+1) − x_(c)) / (2·z))², where
 * c = round((n+1)/2 − z·√n/2) (the distribution-free interval's order statistics).
 */
export function medianEstimate(values: ArrayLike<number>): Estimate {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { value: 0, variance: 0, units: 0 };
  const mid = n / 2;
  const value = n % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const z = normalQuantile(0.975);
  const c = Math.max(1, Math.round((n + 1) / 2 - (z * Math.sqrt(n)) / 2));
  const se = (sorted[n - c]! - sorted[c - 1]!) / (2 * z);
  return { value, variance: se * se, units: n };
}

export interface GuardrailComparison {
  /** Treatment / control − 1, or null when the control is 0. */
  lift: number | null;
  /** Always-valid 95 % bounds of the lift (of the absolute difference when the control is 0). */
  ciLow: number | null;
  ciHigh: number | null;
  /** Fixed-horizon two-sided p-value of "no difference". */
  pValue: number;
  /** Significantly worse than control by more than `maxRegression` (relative). */
  flag: boolean;
}

/**
 * Compares a treatment's guardrail estimate with the control's. A treatment is flagged when the
 * lower bound of its confidence sequence for the relative change exceeds `maxRegression`; with a
 * control at 0, when the lower bound of the absolute difference is above 0.
 */
export function compareGuardrail(control: Estimate, treatment: Estimate, maxRegression: number, alpha = 0.05): GuardrailComparison {
  const nEff = effectiveN(control.units, treatment.units);
  const diff = treatment.value - control.value;
  const seAbs = Math.sqrt(control.variance + treatment.variance);
  const pValue = seAbs > 0 ? normalTwoSidedP(diff / seAbs) : diff === 0 ? 1 : 0;
  if (nEff <= 0) return { lift: null, ciLow: null, ciHigh: null, pValue: 1, flag: false };
  if (control.value === 0) {
    const half = sequentialHalfWidth(seAbs, nEff, alpha);
    return { lift: null, ciLow: diff - half, ciHigh: diff + half, pValue, flag: diff - half > 0 };
  }
  const ratio = treatment.value / control.value;
  const lift = ratio - 1;
  const seRel = Math.sqrt(treatment.variance + ratio * ratio * control.variance) / Math.abs(control.value);
  const half = sequentialHalfWidth(seRel, nEff, alpha);
  return { lift, ciLow: lift - half, ciHigh: lift + half, pValue, flag: lift - half > maxRegression };
}
