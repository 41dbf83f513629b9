// Statistics for experiment results, written out here because they are small and must be exact:
// normal and Student-t tails, the chi-square tail (for sample-ratio mismatch), the two-proportion
// z-test and Welch's t-test. Special functions follow the standard series/continued-fraction forms.
// Sequential tests, CUPED and guardrail estimators build on these in stats.sequential.ts and
// stats.cuped.ts.

/** log Γ(x), Lanczos approximation (g=7, n=9); accurate to ~1e-15 for x > 0. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Standard normal CDF. erfc comes from the regularized upper incomplete gamma Q(1/2, x²), whose
 * series and continued fraction converge to ~1e-15, so tail p-values are exact to well below 1e-9.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return z >= 0 ? 1 - 0.5 * erfcPositive(z / Math.SQRT2) : 0.5 * erfcPositive(-z / Math.SQRT2);
}

/** erfc(x) for x ≥ 0. */
function erfcPositive(x: number): number {
  if (x === 0) return 1;
  const x2 = x * x;
  return x2 < 1.5 ? 1 - gammaP(0.5, x2) : gammaQContinuedFraction(0.5, x2);
}

/**
 * Standard normal quantile: Acklam's rational approximation refined by Halley steps on the exact
 * CDF above (relative error near machine precision).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  for (let i = 0; i < 2; i++) {
    const e = normalCdf(x) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
    x -= u / (1 + (x * u) / 2);
  }
  return x;
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  return Math.min(1, 2 * normalCdf(-Math.abs(z)));
}

/** Regularized lower incomplete gamma P(a, x). */
function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
  }
  return 1 - gammaQContinuedFraction(a, x);
}

function gammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Upper tail of the chi-square distribution with k degrees of freedom. */
export function chiSquareSurvival(x: number, k: number): number {
  if (x <= 0) return 1;
  return Math.max(0, 1 - gammaP(k / 2, x / 2));
}

/** Regularized incomplete beta I_x(a, b) (continued fraction, Lentz's method). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    if (Math.abs(d) < 1e-30) d = 1e-30;
    d = 1 / d;
    c = 1 + num / c;
    if (Math.abs(c) < 1e-30) c = 1e-30;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-14) break;
  }
  return (front * (f - 1)) / a;
}

/** Two-sided p-value of a Student-t statistic with df degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, incompleteBeta(df / (df + t * t), df / 2, 0.5));
}

/** Quantile of Student's t (two-sided 95 % → p = 0.975) by bisection on the CDF. */
export function studentQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    const cdf = 1 - studentTwoSidedP(mid, df) / 2;
    if (cdf < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const Z_95 = 1.959963984540054;

export interface TestResult {
  /** Variant minus control. */
  absoluteLift: number;
  /** (variant − control) / control, or null when the control is 0. */
  relativeLift: number | null;
  /** 95 % CI of the relative lift (delta method), or of the absolute lift when the control is 0. */
  ciLow: number | null;
  ciHigh: number | null;
  absCiLow: number;
  absCiHigh: number;
  pValue: number;
}

/** Delta-method CI of the ratio mean_v/mean_c − 1 (as GrowthBook reports relative uplift). */
export function relativeCi(mc: number, vc: number, mv: number, vv: number, crit: number): { lift: number | null; low: number | null; high: number | null } {
  if (mc === 0) return { lift: null, low: null, high: null };
  const lift = mv / mc - 1;
  // √(vv/mc² + mv²·vc/mc⁴), factored so a tiny control mean does not underflow mc⁴ to 0.
  const se = Math.sqrt(vv + (mv / mc) ** 2 * vc) / Math.abs(mc);
  return { lift, low: lift - crit * se, high: lift + crit * se };
}

/** Two-proportion z-test (pooled SE for the p-value, unpooled for the interval). */
export function twoProportionTest(convC: number, nC: number, convV: number, nV: number): TestResult {
  const pC = nC ? convC / nC : 0;
  const pV = nV ? convV / nV : 0;
  const pooled = nC + nV ? (convC + convV) / (nC + nV) : 0;
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / Math.max(nC, 1) + 1 / Math.max(nV, 1)));
  const z = sePooled > 0 ? (pV - pC) / sePooled : 0;
  const varC = nC ? (pC * (1 - pC)) / nC : 0;
  const varV = nV ? (pV * (1 - pV)) / nV : 0;
  const seDiff = Math.sqrt(varC + varV);
  const rel = relativeCi(pC, varC, pV, varV, Z_95);
  return {
    absoluteLift: pV - pC,
    relativeLift: rel.lift,
    ciLow: rel.low,
    ciHigh: rel.high,
    absCiLow: pV - pC - Z_95 * seDiff,
    absCiHigh: pV - pC + Z_95 * seDiff,
    pValue: sePooled > 0 ? normalTwoSidedP(z) : 1,
  };
}

export interface Sample {
  n: number;
  mean: number;
  /** Unbiased sample variance. */
  variance: number;
}

export function summarize(values: number[]): Sample {
  const n = values.length;
  if (n === 0) return { n: 0, mean: 0, variance: 0 };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

/** Welch's unequal-variance t-test on means, with the Welch–Satterthwaite degrees of freedom. */
export function welchTest(c: Sample, v: Sample): TestResult {
  const vc = c.n ? c.variance / c.n : 0;
  const vv = v.n ? v.variance / v.n : 0;
  const se = Math.sqrt(vc + vv);
  const diff = v.mean - c.mean;
  const df = se > 0 ? (vc + vv) ** 2 / ((c.n > 1 ? vc ** 2 / (c.n - 1) : 0) + (v.n > 1 ? vv ** 2 / (v.n - 1) : 0) || 1) : 1;
  const crit = se > 0 ? studentQuantile(0.975, df) : Z_95;
  const rel = relativeCi(c.mean, vc, v.mean, vv, crit);
  return {
    absoluteLift: diff,
    relativeLift: rel.lift,
    ciLow: rel.low,
    ciHigh: rel.high,
    absCiLow: diff - crit * se,
    absCiHigh: diff + crit * se,
    pValue: se > 0 ? studentTwoSidedP(diff / se, df) : 1,
  };
}

/** Sample-ratio mismatch: chi-square goodness of fit of observed counts to the designed weights. */
export function srmTest(observed: number[], weights: number[]): number {
  const total = observed.reduce((s, x) => s + x, 0);
  const wsum = weights.reduce((s, x) => s + x, 0);
  if (total === 0 || observed.length < 2) return 1;
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * weights[i]) / wsum;
    if (expected > 0) chi += (observed[i] - expected) ** 2 / expected;
  }
  return chiSquareSurvival(chi, observed.length - 1);
}
