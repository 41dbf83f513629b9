// Always-valid inference for experiments that are read every day: the normal-mixture sequential
// probability ratio test (mSPRT) of Johari et al., in the asymptotic confidence-sequence form of
// Waudby-Smith et al. (2023). docs/experiments.md explains the method and the tuning.
import { normalQuantile } from './stats.js';

/**
 * The effective sample size (1/(1/n_c + 1/n_t)) at which the confidence sequence is tightest,
 * ≈ 5,000 users per arm. Any value keeps the guarantee; it only moves where power is spent.
 */
export const SEQUENTIAL_TUNING_N = 2500;

/** ρ² of the normal mixture, chosen so the boundary is tightest at `nStar` (Waudby-Smith et al., 2023, §3). */
export function mixtureRho2(alpha = 0.05, nStar = SEQUENTIAL_TUNING_N): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(l + 1)) / nStar;
}

/** 1 / (1/n_c + 1/n_t): the sample size of one standardised difference of two means. */
export function effectiveN(nC: number, nT: number): number {
  return nC > 0 && nT > 0 ? 1 / (1 / nC + 1 / nT) : 0;
}

/**
 * log of the mixture likelihood ratio Λ for a standardised statistic z = θ̂/se after an effective
 * sample of nEff: Λ = (1 + ρ²n)^(-1/2) · exp(z²/2 · ρ²n / (1 + ρ²n)), a mixture over effects
 * θ ~ N(0, ρ²σ²) of the Gaussian likelihood ratios, which is a martingale under θ = 0.
 */
export function mixtureLogLikelihoodRatio(z: number, nEff: number, rho2 = mixtureRho2()): number {
  const a = rho2 * nEff;
  if (!(a > 0) || !Number.isFinite(z)) return Number.isFinite(z) ? 0 : Infinity;
  return -0.5 * Math.log1p(a) + ((z * z) / 2) * (a / (1 + a));
}

/**
 * Always-valid p-value min(1, 1/Λ): by Ville's inequality P(ever ≤ α) ≤ α under the null, however
 * often it is read (so a running minimum over reads is valid as well).
 */
export function sequentialPValue(z: number, nEff: number, rho2 = mixtureRho2()): number {
  if (nEff <= 0) return 1;
  return Math.min(1, Math.exp(-mixtureLogLikelihoodRatio(z, nEff, rho2)));
}

/**
 * Half-width of the (1 − α) confidence sequence around an estimate with standard error `se`: the
 * set of θ the mixture test does not reject, se · √((1 + ρ²n)/(ρ²n) · (2 log(1/α) + log(1 + ρ²n))).
 */
export function sequentialHalfWidth(se: number, nEff: number, alpha = 0.05, rho2 = mixtureRho2(alpha)): number {
  const a = rho2 * nEff;
  if (!(a > 0)) return Infinity;
  return se * Math.sqrt(((1 + a) / a) * (2 * Math.log(1 / alpha) + Math.log1p(a)));
}

/** Fixed-horizon two-sided critical value, for comparison in docs and tests. */
export function fixedCritical(alpha = 0.05): number {
  return normalQuantile(1 - alpha / 2);
}
