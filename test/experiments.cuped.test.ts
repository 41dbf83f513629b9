// CUPED on generated metrics: with a pre-period value correlated 0.7 with the metric, the CI of
// the lift narrows by at least 25 % (theory: 1 − √(1 − 0.49) ≈ 29 %), and over 200 simulated A/A
// runs the adjusted lift averages 0 within its standard error. The same holds for a conversion (0/1)
// metric whose pre-period is whether the user converted before exposure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize, twoProportionTest, welchTest } from '../src/experiments/stats.js';
import { cupedTest, cupedTheta, emptyMoments, addMoment, type Moments } from '../src/experiments/stats.cuped.js';
import { normals, rng } from './helpers/simulate.js';

/** n users per arm; pre-period X ~ N(10, 2²), Y = 10 + effect + 2(ρ·Z_x + √(1−ρ²)·Z_e). */
function simulate(next: () => number, n: number, rho: number, effect: number): { c: Moments; t: Moments; yc: number[]; yt: number[] } {
  const c = emptyMoments();
  const t = emptyMoments();
  const yc: number[] = [];
  const yt: number[] = [];
  const k = Math.sqrt(1 - rho * rho);
  for (let arm = 0; arm < 2; arm++) {
    for (let i = 0; i < n; i++) {
      const zx = next();
      const x = 10 + 2 * zx;
      const y = 10 + (arm ? effect : 0) + 2 * (rho * zx + k * next());
      addMoment(arm ? t : c, x, y);
      (arm ? yt : yc).push(y);
    }
  }
  return { c, t, yc, yt };
}

/**
 * Conversions: pre-period X ~ Bernoulli(p); Y copies X with probability ρ, else is a fresh
 * Bernoulli(p), so corr(X, Y) = ρ (users who converted before convert more: P(Y|X=1) = ρ + (1−ρ)p,
 * P(Y|X=0) = (1−ρ)p). In the treatment the fresh draw is Bernoulli(p + effect): the rate rises by
 * (1−ρ)·effect and the correlation stays close to ρ (0.68 for p = 0.3, ρ = 0.7, effect = 0.1).
 */
function simulateConversions(uniform: () => number, n: number, p: number, rho: number, effect: number): { c: Moments; t: Moments; conv: [number, number] } {
  const c = emptyMoments();
  const t = emptyMoments();
  const conv: [number, number] = [0, 0];
  for (let arm = 0; arm < 2; arm++) {
    for (let i = 0; i < n; i++) {
      const x = uniform() < p ? 1 : 0;
      const y = uniform() < rho ? x : uniform() < p + (arm ? effect : 0) ? 1 : 0;
      addMoment(arm ? t : c, x, y);
      conv[arm] += y;
    }
  }
  return { c, t, conv };
}

describe('CUPED', () => {
  it('a pre-period correlated 0.7 narrows the CI by ≥ 25 % and keeps the effect', () => {
    const next = normals(rng(42));
    const { c, t, yc, yt } = simulate(next, 2000, 0.7, 0.3);
    const theta = cupedTheta([c, t]);
    const r = cupedTest(c, t, theta);
    const plain = welchTest(summarize(yc), summarize(yt));
    const widthPlain = plain.absCiHigh - plain.absCiLow;
    const widthCuped = r.absCiHigh - r.absCiLow;
    const narrower = 1 - widthCuped / widthPlain;
    console.log(
      `# CUPED: CI width ${widthCuped.toFixed(4)} vs ${widthPlain.toFixed(4)} (${(narrower * 100).toFixed(1)} % narrower), variance reduction ${(r.varianceReduction * 100).toFixed(1)} %, θ = ${theta.toFixed(3)}`,
    );
    assert.ok(narrower >= 0.25, `narrower by ${narrower}`);
    assert.ok(Math.abs(r.varianceReduction - 0.49) < 0.06, `variance reduction ${r.varianceReduction}`);
    assert.ok(Math.abs(theta - 0.7) < 0.06, `θ ${theta}`);
    assert.ok(r.absCiLow < 0.3 && r.absCiHigh > 0.3, 'the true effect lies in the adjusted CI');
    assert.ok(r.relativeLift! > 0 && r.ciLow! > 0, 'the effect is found');
  });

  it('over 200 A/A runs the adjusted lift averages 0 within its standard error', () => {
    const next = normals(rng(2026));
    const lifts: number[] = [];
    for (let run = 0; run < 200; run++) {
      const { c, t } = simulate(next, 1000, 0.7, 0);
      lifts.push(cupedTest(c, t, cupedTheta([c, t])).absoluteLift);
    }
    const mean = lifts.reduce((s, x) => s + x, 0) / lifts.length;
    const sd = Math.sqrt(lifts.reduce((s, x) => s + (x - mean) ** 2, 0) / (lifts.length - 1));
    const se = sd / Math.sqrt(lifts.length);
    console.log(`# CUPED A/A: mean lift ${mean.toExponential(3)}, its standard error ${se.toExponential(3)} (${(Math.abs(mean) / se).toFixed(2)} SE)`);
    assert.ok(Math.abs(mean) <= se, `mean ${mean} vs SE ${se}`);
    // And the reported standard error matches the spread of the estimates across runs.
    const reported = cupedTest(
      ...(() => {
        const s = simulate(next, 1000, 0.7, 0);
        return [s.c, s.t] as const;
      })(),
      0.7,
    ).se;
    assert.ok(Math.abs(sd / reported - 1) < 0.15, `spread ${sd} vs reported SE ${reported}`);
  });

  it('on a conversion metric, a prior conversion correlated 0.7 narrows the CI by ≥ 25 % and keeps the effect', () => {
    const uniform = rng(7);
    const n = 5000;
    const { c, t, conv } = simulateConversions(uniform, n, 0.3, 0.7, 0.1);
    // True rates: control 0.3, treatment 0.3 + 0.3 · 0.1 = 0.33.
    const trueLift = 0.3 * 0.1;
    const theta = cupedTheta([c, t]);
    const r = cupedTest(c, t, theta);
    // The plain comparison is the one results use for conversions: the two-proportion test.
    const plain = twoProportionTest(conv[0], n, conv[1], n);
    const widthPlain = plain.absCiHigh - plain.absCiLow;
    const widthCuped = r.absCiHigh - r.absCiLow;
    const narrower = 1 - widthCuped / widthPlain;
    console.log(
      `# CUPED on conversions: CI width ${widthCuped.toFixed(4)} vs ${widthPlain.toFixed(4)} (${(narrower * 100).toFixed(1)} % narrower), variance reduction ${(r.varianceReduction * 100).toFixed(1)} %, θ = ${theta.toFixed(3)}`,
    );
    assert.ok(narrower >= 0.25, `narrower by ${narrower}`);
    // With 0/1 values the moments give the same variances as p(1 − p): the unadjusted SE is the test's.
    assert.ok(Math.abs(r.seUnadjusted / ((plain.absCiHigh - plain.absCiLow) / 2 / 1.959963984540054) - 1) < 1e-3, 'same unadjusted SE');
    assert.ok(Math.abs(r.varianceReduction - 0.49) < 0.06, `variance reduction ${r.varianceReduction}`);
    assert.ok(Math.abs(theta - 0.7) < 0.06, `θ ${theta}`);
    assert.ok(r.absCiLow < trueLift && r.absCiHigh > trueLift, 'the true effect lies in the adjusted CI');
    assert.ok(r.relativeLift! > 0 && r.ciLow! > 0, 'the effect is found');
  });

  // An unbiased estimate meets "the mean within 1 SE of 0" in only ~68 % of seeds, so rather than pick a
  // seed that passes, this runs 2,000 A/A experiments and bounds the mean by 3 of their SEs: a false
  // alarm once in ~370 seeds, and a bound (3/√10 ≈ 0.95 of the SE of 200 runs) tighter than the issue's.
  it('on a conversion metric, over 2,000 A/A runs the adjusted lift averages 0 (within 3 SE, tighter than 1 SE of 200 runs)', () => {
    const uniform = rng(2027);
    const runs = 2000;
    const lifts: number[] = [];
    const reported: number[] = [];
    for (let run = 0; run < runs; run++) {
      const { c, t } = simulateConversions(uniform, 1000, 0.3, 0.7, 0);
      const r = cupedTest(c, t, cupedTheta([c, t]));
      lifts.push(r.absoluteLift);
      reported.push(r.se);
    }
    const mean = lifts.reduce((s, x) => s + x, 0) / lifts.length;
    const sd = Math.sqrt(lifts.reduce((s, x) => s + (x - mean) ** 2, 0) / (lifts.length - 1));
    const se = sd / Math.sqrt(lifts.length);
    const meanReported = reported.reduce((s, x) => s + x, 0) / reported.length;
    const se200 = sd / Math.sqrt(200);
    console.log(
      `# CUPED A/A on conversions (${runs} runs): mean lift ${mean.toExponential(3)}, its standard error ${se.toExponential(3)} (${(Math.abs(mean) / se).toFixed(2)} SE, ${(Math.abs(mean) / se200).toFixed(2)} SE of 200 runs); spread ${sd.toExponential(3)} vs reported SE ${meanReported.toExponential(3)}`,
    );
    assert.ok(Math.abs(mean) <= 3 * se, `mean ${mean} vs SE ${se}`);
    // The reported standard error matches the spread of the estimates across runs.
    assert.ok(Math.abs(sd / meanReported - 1) < 0.05, `spread ${sd} vs reported SE ${meanReported}`);
  });

  it('without a pre-period (all X equal) it is the plain difference', () => {
    const c = emptyMoments();
    const t = emptyMoments();
    for (let i = 0; i < 100; i++) {
      addMoment(c, 0, i % 7);
      addMoment(t, 0, (i % 7) + 1);
    }
    const theta = cupedTheta([c, t]);
    assert.equal(theta, 0);
    const r = cupedTest(c, t, theta);
    assert.ok(Math.abs(r.absoluteLift - 1) < 1e-12);
    assert.equal(r.varianceReduction, 0);
  });
});
