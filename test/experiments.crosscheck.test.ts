// The experiment statistics against an independent implementation (the @stdlib distribution
// packages) to 1e-9, and the closed-form mixture likelihood ratio against numerical integration.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { chiSquareSurvival, normalCdf, normalQuantile, normalTwoSidedP, studentQuantile, studentTwoSidedP } from '../src/experiments/stats.js';
import { mixtureLogLikelihoodRatio, mixtureRho2 } from '../src/experiments/stats.sequential.js';

const require = createRequire(import.meta.url);
const stdNormalCdf = require('@stdlib/stats-base-dists-normal-cdf') as (x: number, mu: number, sigma: number) => number;
const stdNormalQuantile = require('@stdlib/stats-base-dists-normal-quantile') as (p: number, mu: number, sigma: number) => number;
const stdTCdf = require('@stdlib/stats-base-dists-t-cdf') as (x: number, v: number) => number;
const stdTQuantile = require('@stdlib/stats-base-dists-t-quantile') as (p: number, v: number) => number;
const stdChiSquareCdf = require('@stdlib/stats-base-dists-chisquare-cdf') as (x: number, k: number) => number;

const TOL = 1e-9;
const close = (a: number, b: number, what: string, tol = TOL) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (|Δ| ${Math.abs(a - b)})`);

describe('statistics cross-checked with @stdlib', () => {
  it('normal CDF, two-sided p and quantile', () => {
    for (let z = -8; z <= 8; z += 0.037) {
      close(normalCdf(z), stdNormalCdf(z, 0, 1), `Φ(${z})`);
      close(normalTwoSidedP(z), 2 * stdNormalCdf(-Math.abs(z), 0, 1), `p(${z})`);
    }
    // Not further out: at p = 1e-10 @stdlib's own quantile is 1.3e-8 off (its CDF there gives 1.00000008e-10).
    for (const p of [1e-6, 0.001, 0.01, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.99, 0.999, 1 - 1e-6]) {
      close(normalQuantile(p), stdNormalQuantile(p, 0, 1), `Φ⁻¹(${p})`, TOL * Math.max(1, Math.abs(stdNormalQuantile(p, 0, 1))));
    }
  });

  it("Student's t two-sided p-value and quantile", () => {
    for (const df of [1, 2, 3.5, 10, 30, 117.3, 1000, 1e5]) {
      for (const t of [0, 0.1, 0.5, 1, 1.96, 2.5, 4, 10]) close(studentTwoSidedP(t, df), 2 * (1 - stdTCdf(t, df)), `t=${t} df=${df}`);
      for (const p of [0.9, 0.95, 0.975, 0.995]) close(studentQuantile(p, df), stdTQuantile(p, df), `q(${p}) df=${df}`, TOL * Math.max(1, stdTQuantile(p, df)));
    }
  });

  it('chi-square survival', () => {
    for (const k of [1, 2, 3, 5, 19]) {
      for (const x of [0.01, 0.5, 1, 3.841, 7, 10.828, 25, 60]) close(chiSquareSurvival(x, k), 1 - stdChiSquareCdf(x, k), `χ²(${x}; ${k})`);
    }
  });

  it('the mixture likelihood ratio equals the integral it stands for', () => {
    // Λ = ∫ exp((θ·θ̂ − θ²/2)/v) N(θ; 0, τ²) dθ with v = σ²/n and τ² = ρ²σ²; σ = 1 here.
    const rho2 = mixtureRho2();
    for (const n of [50, 1000, 2500, 40_000]) {
      for (const z of [0, 0.8, 2, 3.1]) {
        const v = 1 / n;
        const thetaHat = z * Math.sqrt(v);
        const tau = Math.sqrt(rho2);
        const lo = -12 * tau;
        const hi = 12 * tau;
        const steps = 20_000;
        const h = (hi - lo) / steps;
        let sum = 0;
        for (let i = 0; i <= steps; i++) {
          const th = lo + i * h;
          const f = (Math.exp((th * thetaHat - (th * th) / 2) / v) * Math.exp(-(th * th) / (2 * tau * tau))) / (tau * Math.sqrt(2 * Math.PI));
          sum += f * (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2);
        }
        const integral = (sum * h) / 3;
        const closed = Math.exp(mixtureLogLikelihoodRatio(z, n, rho2));
        close(closed / integral, 1, `Λ(z=${z}, n=${n})`);
      }
    }
  });
});
