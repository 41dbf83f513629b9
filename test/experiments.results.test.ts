// Results over HTTP with CUPED and the always-valid p-value: users whose metric history before
// exposure predicts their metric get a narrower adjusted CI; history after exposure, or older than
// 14 days, is not used; guardrails are absent unless named; auto_stop needs a guardrail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { experiments } from '../src/client/experiments.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { addMetricDay } from '../src/experiments/experiments.repository.js';
import { normals, rng } from './helpers/simulate.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

describe('experiment results with CUPED and sequential p-values', () => {
  let t: TestNova;
  let admin: NovaClient;
  before(async () => {
    t = await startTestNova();
    admin = (await t.client.newUser('admin')).client;
  });
  after(async () => t.stop());

  it('adjusts by the 14 days before exposure and reports the variance removed', async () => {
    const key = 'watch-cuped';
    assert.equal(
      (
        await experiments.create(admin, {
          key,
          variants: [
            { key: 'control', weight: 1 },
            { key: 'treatment', weight: 1 },
          ],
          traffic_percent: 100,
          metric: 'minutes',
          metric_type: 'numeric',
        })
      ).status,
      201,
    );
    const next = normals(rng(99));
    const exposed = new Date();
    const day = (d: number) => new Date(exposed.getTime() - d * 86_400_000).toISOString();
    // Fixture rows in one transaction, written through it (SQLite has one connection).
    await t.nova.container.db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < 600; i++) {
        const user = uuidv7();
        const variant = i % 2 ? 'treatment' : 'control';
        const habit = 20 + 5 * next();
        await trx.insertInto('experiment_assignments').values({ experiment_key: key, user_id: user, variant, assigned_at: exposed.toISOString() }).execute();
        // Pre-period: 3 days within the 14 before exposure; noise outside it must be ignored.
        for (const d of [2, 5, 9]) await addMetricDay(trx, user, 'minutes', day(d), Math.max(0, habit / 3 + next()));
        await addMetricDay(trx, user, 'minutes', day(20), 500 * Math.abs(next()));
        const y = Math.max(0, habit + (variant === 'treatment' ? 1 : 0) + 2 * next());
        await trx.insertInto('experiment_conversions').values({ id: uuidv7(), experiment_key: key, user_id: user, variant, metric: 'minutes', value: y, created_at: exposed.toISOString() }).execute();
        await addMetricDay(trx, user, 'minutes', exposed.toISOString(), 1000);
      }
    });
    const r = await experiments.results(t.client, key);
    assert.equal(r.status, 200);
    const v = r.body.variants[1]!;
    const plainWidth = v.ci_high! - v.ci_low!;
    const cupedWidth = v.ci_high_cuped! - v.ci_low_cuped!;
    console.log(
      `# CUPED over HTTP: lift ${v.lift!.toFixed(4)} (CI width ${plainWidth.toFixed(4)}) → ${v.lift_cuped!.toFixed(4)} (CI width ${cupedWidth.toFixed(4)}), variance reduction ${(v.variance_reduction! * 100).toFixed(1)} %, p ${v.p_value!.toExponential(2)}, sequential p ${v.p_value_sequential!.toExponential(2)}`,
    );
    // habit explains 25/(25+4) of Y's variance: most of it goes.
    assert.ok(v.variance_reduction! > 0.7, `variance reduction ${v.variance_reduction}`);
    assert.ok(cupedWidth < 0.6 * plainWidth);
    assert.ok(v.ci_low_cuped! < 0.05 && v.ci_high_cuped! > 0.05, 'the true lift (+1 on ~20) lies in the adjusted CI');
    assert.ok(v.p_value_sequential! >= v.p_value!, 'the always-valid p-value is the more cautious one');
    assert.equal(v.guardrails, undefined);
    assert.equal(r.body.variants[0]!.lift_cuped, 0);
  });

  it('auto_stop needs a guardrail, and a guardrail metric is named once', async () => {
    const base = {
      variants: [
        { key: 'a', weight: 1 },
        { key: 'b', weight: 1 },
      ],
      traffic_percent: 100,
      metric: 'm',
    };
    assert.equal((await experiments.create(admin, { ...base, key: 'no-guard', auto_stop: true })).status, 422);
    assert.equal(
      (
        await experiments.create(admin, {
          ...base,
          key: 'twice',
          guardrails: [
            { metric: 'rebuffer_ratio', max_regression: 0.1 },
            { metric: 'rebuffer_ratio', max_regression: 0.2 },
          ],
        })
      ).status,
      422,
    );
    const bad = await experiments.create(admin, { ...base, key: 'bad-metric', guardrails: [{ metric: 'fun' as 'rebuffer_ratio', max_regression: 0.1 }] });
    assert.equal(bad.status, 400);
    const ok = await experiments.create(admin, { ...base, key: 'guarded', guardrails: [{ metric: 'startup_ms_p50', max_regression: 0.2 }], auto_stop: true });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.guardrails, [{ metric: 'startup_ms_p50', max_regression: 0.2 }]);
    assert.equal(ok.body.auto_stop, true);
  });
});
