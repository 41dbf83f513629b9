// Safe peeking: 500 simulated A/A experiments read every day for 30 days. The share ever
// "significant" at 0.05 stays ≤ 0.05 with the always-valid p-value, while the fixed-horizon
// p-value read the same way crosses far more often (printed beside it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalTwoSidedP } from '../src/experiments/stats.js';
import { effectiveN, fixedCritical, sequentialHalfWidth, sequentialPValue } from '../src/experiments/stats.sequential.js';
import { normals, rng } from './helpers/simulate.js';

describe('sequential p-values', () => {
  it('agree with their confidence sequence: p ≤ α exactly when 0 leaves the interval', () => {
    for (const n of [10, 200, 2500, 1e5]) {
      const half = sequentialHalfWidth(1, n);
      assert.ok(half > fixedCritical(), `the sequence is wider than the fixed interval at n=${n}`);
      assert.ok(Math.abs(sequentialPValue(half, n) - 0.05) < 1e-9, `p at the boundary, n=${n}`);
      assert.ok(sequentialPValue(half * 0.99, n) > 0.05 && sequentialPValue(half * 1.01, n) < 0.05);
    }
    assert.equal(sequentialPValue(0, 1000), 1);
    assert.equal(sequentialPValue(3, 0), 1);
  });

  it('500 A/A experiments peeked daily for 30 days: ever significant ≤ 5 % (fixed horizon shown beside)', () => {
    const runs = 500;
    const days = 30;
    const perDayPerArm = 100;
    const uniform = rng(20260);
    const normal = normals(uniform);
    let everSequential = 0;
    let everFixed = 0;
    for (let r = 0; r < runs; r++) {
      // A skewed numeric metric (watch minutes: log-normal), identical in both arms.
      const sum = [0, 0];
      const sq = [0, 0];
      const n = [0, 0];
      let hitS = false;
      let hitF = false;
      for (let d = 0; d < days; d++) {
        for (let arm = 0; arm < 2; arm++) {
          for (let i = 0; i < perDayPerArm; i++) {
            const y = Math.exp(1 + 0.8 * normal());
            sum[arm] += y;
            sq[arm] += y * y;
            n[arm] += 1;
          }
        }
        const mean = [sum[0] / n[0], sum[1] / n[1]];
        const v = [0, 1].map((a) => (sq[a] - n[a] * mean[a] * mean[a]) / (n[a] - 1) / n[a]);
        const z = (mean[1] - mean[0]) / Math.sqrt(v[0] + v[1]);
        if (sequentialPValue(z, effectiveN(n[0], n[1])) <= 0.05) hitS = true;
        if (normalTwoSidedP(z) <= 0.05) hitF = true;
      }
      if (hitS) everSequential += 1;
      if (hitF) everFixed += 1;
    }
    const seqShare = everSequential / runs;
    const fixedShare = everFixed / runs;
    console.log(`# A/A peeked daily for ${days} days, ${runs} runs: ever significant at 0.05 — sequential ${(seqShare * 100).toFixed(1)} %, fixed-horizon ${(fixedShare * 100).toFixed(1)} %`);
    assert.ok(seqShare <= 0.05, `sequential share ${seqShare}`);
    // The point of the exercise: peeking at the fixed-horizon p-value inflates false positives.
    assert.ok(fixedShare > 0.1, `fixed-horizon share ${fixedShare}`);
  });

  it('still finds a real effect', () => {
    const uniform = rng(7);
    const normal = normals(uniform);
    let found = 0;
    for (let r = 0; r < 100; r++) {
      const sum = [0, 0];
      const sq = [0, 0];
      const n = 4000;
      for (let i = 0; i < n; i++) {
        for (let arm = 0; arm < 2; arm++) {
          const y = 10 + (arm ? 0.15 : 0) + normal();
          sum[arm] += y;
          sq[arm] += y * y;
        }
      }
      const m = sum.map((s) => s / n);
      const v = [0, 1].map((a) => (sq[a] - n * m[a] * m[a]) / (n - 1) / n);
      if (sequentialPValue((m[1] - m[0]) / Math.sqrt(v[0] + v[1]), effectiveN(n, n)) <= 0.05) found += 1;
    }
    // A 0.15 σ effect with 4,000 users per arm (z ≈ 6.7 on average) is found nearly always.
    assert.ok(found >= 95, `found ${found}/100`);
  });
});
