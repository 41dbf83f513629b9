// Experiments over HTTP: admin-only management, sticky assignment, conversions and results.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { experiments } from '../src/client/experiments.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { ExperimentsRepository } from '../src/experiments/experiments.repository.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

describe('experiments API', () => {
  let t: TestNova;
  let admin: NovaClient;
  before(async () => {
    t = await startTestNova();
    admin = (await t.client.newUser('admin')).client; // first account: admin
  });
  after(async () => t.stop());

  it('only admins create; bad designs are refused', async () => {
    const { client: user } = await t.client.newUser('plain');
    const body = {
      key: 'checkout-button',
      variants: [
        { key: 'control', weight: 50 },
        { key: 'green', weight: 50 },
      ],
      traffic_percent: 100,
      metric: 'purchase',
    };
    assert.equal((await experiments.create(user, body)).status, 403);
    assert.equal((await experiments.create(t.client.as(null), body)).status, 401);
    assert.equal((await experiments.create(admin, body)).status, 201);
    assert.equal((await experiments.create(admin, body)).status, 409);
    const dup = await experiments.create(admin, {
      ...body,
      key: 'dup-variants',
      variants: [
        { key: 'a', weight: 1 },
        { key: 'a', weight: 1 },
      ],
    });
    assert.equal(dup.status, 422);
    const one = await experiments.create(admin, { ...body, key: 'one-variant', variants: [{ key: 'a', weight: 1 }] });
    assert.equal(one.status, 400);
  });

  it('assignment is sticky and conversions count once per user for binary metrics', async () => {
    const { client: u } = await t.client.newUser('viewer');
    const first = await experiments.assignment(u, 'checkout-button');
    assert.equal(first.status, 200);
    assert.ok(['control', 'green'].includes(first.body.variant!));
    for (let i = 0; i < 3; i++) assert.equal((await experiments.assignment(u, 'checkout-button')).body.variant, first.body.variant);
    assert.equal((await experiments.convert(u, 'checkout-button', 'purchase')).status, 201);
    assert.equal((await experiments.convert(u, 'checkout-button', 'purchase')).status, 201);
    assert.equal((await experiments.convert(u, 'checkout-button', 'signup')).status, 422);
    const res = await experiments.results(t.client, 'checkout-button');
    assert.equal(res.status, 200);
    const mine = res.body.variants.find((v) => v.key === first.body.variant)!;
    assert.equal(mine.users, 1);
    assert.equal(mine.conversions, 1);
    assert.match(res.body.note ?? '', /too small/);
    assert.equal((await experiments.assignment(u, 'no-such-experiment')).status, 404);
    assert.equal((await experiments.assignment(t.client.as(null), 'checkout-button')).status, 401);
  });

  it('users outside the traffic get no variant; stopping assigns nobody new', async () => {
    await experiments.create(admin, {
      key: 'zero-traffic',
      variants: [
        { key: 'a', weight: 1 },
        { key: 'b', weight: 1 },
      ],
      traffic_percent: 0,
      metric: 'm',
    });
    const { client: u } = await t.client.newUser('outside');
    assert.equal((await experiments.assignment(u, 'zero-traffic')).body.variant, null);
    assert.deepEqual((await experiments.convert(u, 'zero-traffic', 'm')).body, { recorded: false, variant: null });
    assert.equal((await experiments.setTraffic(admin, 'zero-traffic', 100)).status, 200);
    assert.notEqual((await experiments.assignment(u, 'zero-traffic')).body.variant, null);
    assert.equal((await experiments.setTraffic(admin, 'zero-traffic', 50)).status, 422);
    await experiments.stop(admin, 'zero-traffic');
    const { client: late } = await t.client.newUser('late');
    assert.equal((await experiments.assignment(late, 'zero-traffic')).body.variant, null);
  });

  it('results on a fixed data set agree with textbook values; an injected 60/40 split raises SRM', async () => {
    await experiments.create(admin, {
      key: 'textbook',
      variants: [
        { key: 'control', weight: 50 },
        { key: 'treatment', weight: 50 },
      ],
      traffic_percent: 100,
      metric: 'click',
    });
    await experiments.create(admin, {
      key: 'skewed',
      variants: [
        { key: 'control', weight: 50 },
        { key: 'treatment', weight: 50 },
      ],
      traffic_percent: 100,
      metric: 'click',
    });
    // Fixture rows written through the repository: 2,000 users through HTTP would only test scrypt.
    const repo = new ExperimentsRepository(t.nova.container.db);
    const now = new Date().toISOString();
    const seed = async (key: string, variant: string, users: number, conversions: number) => {
      for (let i = 0; i < users; i++) {
        const user = uuidv7();
        await repo.assign({ experiment_key: key, user_id: user, variant, assigned_at: now });
        if (i < conversions) await repo.insertConversion({ id: uuidv7(), experiment_key: key, user_id: user, variant, metric: 'click', value: 1, created_at: now });
      }
    };
    await seed('textbook', 'control', 1000, 200);
    await seed('textbook', 'treatment', 1000, 250);
    const r = (await experiments.results(t.client, 'textbook')).body;
    const [c, v] = r.variants;
    assert.equal(c.rate, 0.2);
    assert.equal(v.rate, 0.25);
    assert.ok(Math.abs(v.lift! - 0.25) < 1e-9);
    assert.ok(Math.abs(v.p_value! - 0.0074) < 5e-4, `p ${v.p_value}`);
    assert.ok(v.ci_low! > 0 && v.ci_high! > v.lift!);
    assert.equal(r.srm.flag, false);
    assert.equal(r.note, null);
    await seed('skewed', 'control', 600, 60);
    await seed('skewed', 'treatment', 400, 40);
    const s = (await experiments.results(t.client, 'skewed')).body;
    assert.equal(s.srm.flag, true);
    assert.ok(s.srm.p_value < 0.001);
  });

  it('numeric metrics use Welch', async () => {
    await experiments.create(admin, {
      key: 'watch-time',
      variants: [
        { key: 'control', weight: 1 },
        { key: 'v2', weight: 1 },
      ],
      traffic_percent: 100,
      metric: 'watch_seconds',
      metric_type: 'numeric',
    });
    const repo = new ExperimentsRepository(t.nova.container.db);
    const now = new Date().toISOString();
    for (let i = 0; i < 200; i++) {
      const variant = i % 2 ? 'v2' : 'control';
      const user = uuidv7();
      await repo.assign({ experiment_key: 'watch-time', user_id: user, variant, assigned_at: now });
      await repo.insertConversion({ id: uuidv7(), experiment_key: 'watch-time', user_id: user, variant, metric: 'watch_seconds', value: (variant === 'v2' ? 60 : 50) + (i % 10), created_at: now });
    }
    const r = (await experiments.results(t.client, 'watch-time')).body;
    assert.ok(Math.abs(r.variants[0].rate - 54) < 1e-9);
    assert.ok(Math.abs(r.variants[1].rate - 65) < 1e-9);
    assert.ok(r.variants[1].p_value! < 1e-6);
  });
});
