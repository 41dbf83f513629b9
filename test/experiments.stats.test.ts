// Experiment statistics and assignment against textbook values and simulated populations.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { bucketRanges, chooseVariant, fnv1a32, hashPosition } from '../src/experiments/assignment.js';
import { chiSquareSurvival, normalCdf, srmTest, studentTwoSidedP, summarize, twoProportionTest, welchTest } from '../src/experiments/stats.js';

const close = (a: number, b: number, tol: number, msg?: string) => assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} ${a} vs ${b}`);

describe('experiment statistics', () => {
  it('special functions match tables', () => {
    close(normalCdf(1.96), 0.975, 1e-4);
    close(normalCdf(0), 0.5, 1e-7);
    close(chiSquareSurvival(3.841, 1), 0.05, 1e-3);
    close(chiSquareSurvival(10.828, 1), 0.001, 1e-4);
    close(chiSquareSurvival(5.991, 2), 0.05, 1e-3);
    close(studentTwoSidedP(2.228, 10), 0.05, 1e-3);
    close(studentTwoSidedP(1.96, 1e6), 0.05, 1e-3);
  });

  it('200/1000 vs 250/1000: two-proportion z-test p ≈ 0.007', () => {
    const r = twoProportionTest(200, 1000, 250, 1000);
    close(r.pValue, 0.0074, 5e-4);
    close(r.absoluteLift, 0.05, 1e-12);
    close(r.relativeLift!, 0.25, 1e-12);
    // Unpooled 95 % CI of the difference: 0.05 ± 1.96·sqrt(.2·.8/1000 + .25·.75/1000)
    const half = 1.959964 * Math.sqrt((0.2 * 0.8) / 1000 + (0.25 * 0.75) / 1000);
    close(r.absCiLow, 0.05 - half, 1e-6);
    close(r.absCiHigh, 0.05 + half, 1e-6);
    assert.ok(r.ciLow! > 0 && r.ciHigh! > r.relativeLift!);
  });

  it('no difference gives p = 1 and a CI around 0', () => {
    const r = twoProportionTest(100, 1000, 100, 1000);
    close(r.pValue, 1, 1e-9);
    assert.ok(r.absCiLow < 0 && r.absCiHigh > 0);
  });

  it("Welch's t-test matches a hand-computed example", () => {
    // Reference (scipy.stats.ttest_ind(b, a, equal_var=False)): t = 2.07401, df = 10.2092, p = 0.064280.
    const a = summarize([19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0]);
    const b = summarize([28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7]);
    const r = welchTest(a, b);
    const t = (b.mean - a.mean) / Math.sqrt(a.variance / a.n + b.variance / b.n);
    close(t, 2.0740146, 1e-6, 't');
    close(r.pValue, 0.06428, 1e-5, 'p');
  });

  it('the relative CI over a tiny control mean is computed, not lost to mc⁴ underflowing to 0', () => {
    // Control mean 1e-100: mc⁴ = 1e-400 is 0 in doubles, yet every term of the delta-method SE is representable.
    const c = summarize([0, 2e-100]);
    const v = summarize([1, 3]);
    const r = welchTest(c, v);
    assert.ok(Number.isFinite(r.ciLow!) && Number.isFinite(r.ciHigh!), `${r.ciLow} … ${r.ciHigh}`);
    const se = Math.sqrt(v.variance / v.n + (v.mean / c.mean) ** 2 * (c.variance / c.n)) / c.mean;
    close(r.relativeLift! / 2e100, 1, 1e-12);
    // Half-width = t-quantile × SE, the quantile lying between the normal 1.96 and t(1)'s 12.71.
    const crit = (r.ciHigh! - r.relativeLift!) / se;
    assert.ok(crit > 1.959 && crit < 12.71, `crit ${crit}`);
  });

  it('SRM: 60/40 observed on a 50/50 design flags, 5010/4990 does not', () => {
    assert.ok(srmTest([600, 400], [50, 50]) < 0.001);
    assert.ok(srmTest([5010, 4990], [50, 50]) > 0.5);
  });
});

describe('experiment assignment', () => {
  it('FNV-1a matches its reference vectors', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  it('100,000 users on 50/50 split within ±1 %, and the same user always gets the same variant', () => {
    const variants = [
      { key: 'control', weight: 50 },
      { key: 'treatment', weight: 50 },
    ];
    const counts: Record<string, number> = { control: 0, treatment: 0 };
    const users = Array.from({ length: 100_000 }, () => randomUUID());
    for (const u of users) counts[chooseVariant(hashPosition('exp-split', u), variants, 1)!]++;
    close(counts.control / 100_000, 0.5, 0.01, 'control share');
    for (const u of users.slice(0, 1000)) {
      assert.equal(chooseVariant(hashPosition('exp-split', u), variants, 1), chooseVariant(hashPosition('exp-split', u), variants, 1));
    }
  });

  it('raising traffic from 20 % to 50 % re-assigns nobody who had a variant', () => {
    const variants = [
      { key: 'a', weight: 1 },
      { key: 'b', weight: 1 },
      { key: 'c', weight: 2 },
    ];
    let inAt20 = 0;
    let inAt50 = 0;
    for (let i = 0; i < 50_000; i++) {
      const n = hashPosition('exp-traffic', `user-${i}`);
      const at20 = chooseVariant(n, variants, 0.2);
      const at50 = chooseVariant(n, variants, 0.5);
      if (at20) {
        inAt20++;
        assert.equal(at50, at20, `user-${i} moved`);
      }
      if (at50) inAt50++;
    }
    close(inAt20 / 50_000, 0.2, 0.01);
    close(inAt50 / 50_000, 0.5, 0.01);
    const ranges = bucketRanges(variants, 0.5);
    close(ranges[2][0], 0.5, 1e-12);
  });
});
