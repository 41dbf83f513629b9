// CUPED (Deng, Xu, Kohavi & Walker, 2013): the difference of means adjusted by each user's value
// of the same metric before exposure, Y − θ(X − X̄), with θ = cov(X, Y)/var(X) pooled over all
// variants. Randomisation makes X independent of the variant, so the estimate stays unbiased while
// its variance shrinks by the share of Y's variance that X explains (ρ² for one covariate).
import { normalTwoSidedP, relativeCi, Z_95 } from './stats.js';

/** Sufficient statistics of (pre-period X, metric Y) over one variant's users. */
export interface Moments {
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  syy: number;
  sxy: number;
}

export function emptyMoments(): Moments {
  return { n: 0, sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
}

export function addMoment(m: Moments, x: number, y: number): void {
  m.n += 1;
  m.sx += x;
  m.sy += y;
  m.sxx += x * x;
  m.syy += y * y;
  m.sxy += x * y;
}

export function moments(x: ArrayLike<number>, y: ArrayLike<number>): Moments {
  const m = emptyMoments();
  for (let i = 0; i < y.length; i++) addMoment(m, x[i]!, y[i]!);
  return m;
}

/** Unbiased (co)variances from sums, computed around the means to limit cancellation. */
function covariances(m: Moments): { vx: number; vy: number; cxy: number } {
  if (m.n < 2) return { vx: 0, vy: 0, cxy: 0 };
  const d = m.n - 1;
  return {
    vx: Math.max(0, (m.sxx - (m.sx * m.sx) / m.n) / d),
    vy: Math.max(0, (m.syy - (m.sy * m.sy) / m.n) / d),
    cxy: (m.sxy - (m.sx * m.sy) / m.n) / d,
  };
}

/** θ = cov(X, Y) / var(X) over the users of every variant together (0 when X does not vary). */
export function cupedTheta(all: Moments[]): number {
  const pooled = all.reduce((acc, m) => ({ n: acc.n + m.n, sx: acc.sx + m.sx, sy: acc.sy + m.sy, sxx: acc.sxx + m.sxx, syy: acc.syy + m.syy, sxy: acc.sxy + m.sxy }), emptyMoments());
  const { vx, cxy } = covariances(pooled);
  return vx > 0 ? cxy / vx : 0;
}

export interface CupedResult {
  /** Adjusted treatment mean minus adjusted control mean. */
  absoluteLift: number;
  relativeLift: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  absCiLow: number;
  absCiHigh: number;
  pValue: number;
  /** Standard error of the adjusted and of the plain difference. */
  se: number;
  seUnadjusted: number;
  /** 1 − Var(adjusted difference) / Var(plain difference). */
  varianceReduction: number;
}

/** CUPED-adjusted comparison of a treatment with the control, normal 95 % intervals. */
export function cupedTest(control: Moments, treatment: Moments, theta: number): CupedResult {
  const xAll = (control.sx + treatment.sx) / Math.max(1, control.n + treatment.n);
  const adj = (m: Moments) => {
    const { vx, vy, cxy } = covariances(m);
    const mean = m.n ? m.sy / m.n - theta * (m.sx / m.n - xAll) : 0;
    const varAdj = Math.max(0, vy + theta * theta * vx - 2 * theta * cxy);
    return { mean, varMean: m.n ? varAdj / m.n : 0, varMeanPlain: m.n ? vy / m.n : 0 };
  };
  const c = adj(control);
  const t = adj(treatment);
  const diff = t.mean - c.mean;
  const se = Math.sqrt(c.varMean + t.varMean);
  const sePlain = Math.sqrt(c.varMeanPlain + t.varMeanPlain);
  const rel = relativeCi(c.mean, c.varMean, t.mean, t.varMean, Z_95);
  return {
    absoluteLift: diff,
    relativeLift: rel.lift,
    ciLow: rel.low,
    ciHigh: rel.high,
    absCiLow: diff - Z_95 * se,
    absCiHigh: diff + Z_95 * se,
    pValue: se > 0 ? normalTwoSidedP(diff / se) : 1,
    se,
    seUnadjusted: sePlain,
    varianceReduction: sePlain > 0 ? 1 - (se * se) / (sePlain * sePlain) : 0,
  };
}
