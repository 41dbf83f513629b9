// Experiments under extreme input, over real HTTP on SQLite and Postgres: conversion values out of
// range are refused naming the field, results stay 200 and finite whatever values are stored, and
// one user's conversions per experiment are capped so a flood cannot outweigh everyone else.
// Users are placed in a chosen variant through the repository (the hash would pick one at random);
// their conversions then go through HTTP, which reads that stored assignment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { experiments, type ExperimentResults } from '../src/client/experiments.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { ExperimentsRepository } from '../src/experiments/experiments.repository.js';
import { MAX_CONVERSION_VALUE } from '../src/experiments/experiments.schemas.js';
import { MAX_CONVERSIONS_PER_USER } from '../src/experiments/experiments.service.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';

/** Every number in the results is finite, and the non-nullable ones are numbers. */
function assertFinite(r: ExperimentResults): void {
  assert.equal(typeof r.srm.p_value, 'number');
  assert.ok(Number.isFinite(r.srm.p_value));
  for (const v of r.variants as unknown as Array<Record<string, unknown>>) {
    assert.equal(typeof v.rate, 'number', `rate of ${String(v.key)}: ${String(v.rate)}`);
    for (const [field, x] of Object.entries(v)) {
      if (field === 'key' || x === null) continue;
      assert.ok(typeof x === 'number' && Number.isFinite(x), `${String(v.key)}.${field} = ${String(x)}`);
    }
  }
}

for (const backend of TEST_BACKENDS) {
  describe(`experiment limits (${backend})`, () => {
    let t: TestNova;
    let admin: NovaClient;
    let repo: ExperimentsRepository;
    let skip: string | false = false;

    const numericExperiment = async (key: string) => {
      const res = await experiments.create(admin, {
        key,
        variants: [
          { key: 'control', weight: 1 },
          { key: 'treatment', weight: 1 },
        ],
        traffic_percent: 100,
        metric: 'revenue',
        metric_type: 'numeric',
      });
      assert.equal(res.status, 201);
    };
    /** A registered user placed in `variant` of experiment `key`. */
    const userIn = async (key: string, variant: string) => {
      const u = await t.client.newUser('conv');
      await repo.assign({ experiment_key: key, user_id: u.user.id, variant, assigned_at: new Date().toISOString() });
      return u;
    };
    const results = async (key: string) => {
      const res = await experiments.results(t.client.as(null), key);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertFinite(res.body);
      return res.body;
    };

    before(async () => {
      const started = await startTestNovaOn(backend);
      if (typeof started === 'string') return void (skip = started);
      t = started;
      admin = (await t.client.newUser('admin')).client; // first account: admin
      repo = new ExperimentsRepository(t.nova.container.db);
    });
    after(async () => t?.stop());

    it('refuses out-of-range and non-finite values with a 400 naming the field; the bounds themselves are accepted', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await numericExperiment('bounds');
      const { client: u } = await userIn('bounds', 'control');
      for (const value of [1.7e308, -1.7e308, MAX_CONVERSION_VALUE * 1.5, -MAX_CONVERSION_VALUE - 1]) {
        const res = await experiments.convert(u, 'bounds', 'revenue', value);
        assert.equal(res.status, 400, `value ${value}`);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
        const p = res.body as unknown as Problem;
        assert.ok(
          p.errors?.some((e) => e.field === 'value'),
          JSON.stringify(p),
        );
        assert.match(p.detail, /value/);
      }
      // JSON.parse reads 1e999 as Infinity; it must not reach the database.
      const inf = await u.request<Problem>('POST', '/api/v1/experiments/bounds/conversions', '{"metric":"revenue","value":1e999}');
      assert.equal(inf.status, 400);
      assert.ok(
        inf.body.errors?.some((e) => e.field === 'value'),
        JSON.stringify(inf.body),
      );
      assert.equal((await experiments.convert(u, 'bounds', 'revenue', MAX_CONVERSION_VALUE)).status, 201);
      assert.equal((await experiments.convert(u, 'bounds', 'revenue', -MAX_CONVERSION_VALUE)).status, 201);
      const r = await results('bounds');
      assert.equal(r.variants[0].conversions, 1);
      assert.equal(r.variants[0].rate, 0);
    });

    it('results stay finite with extreme but valid values: tiny control means, values at both bounds', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await numericExperiment('extremes');
      // A control mean near the smallest double makes the relative lift and its interval overflow.
      for (const value of [1e-300, 5e-324]) {
        const { client } = await userIn('extremes', 'control');
        assert.equal((await experiments.convert(client, 'extremes', 'revenue', value)).status, 201);
      }
      for (const value of [MAX_CONVERSION_VALUE, -MAX_CONVERSION_VALUE, MAX_CONVERSION_VALUE]) {
        const { client } = await userIn('extremes', 'treatment');
        assert.equal((await experiments.convert(client, 'extremes', 'revenue', value)).status, 201);
      }
      const r = await results('extremes');
      assert.equal(r.variants[0].users, 2);
      assert.equal(r.variants[1].users, 3);
      assert.ok(Math.abs(r.variants[1].rate - MAX_CONVERSION_VALUE / 3) < 1e-3);
    });

    it('values stored beyond the bound (before it existed, or by another writer) count as the bound', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await numericExperiment('legacy');
      const now = new Date().toISOString();
      const seed = async (variant: string, values: number[]) => {
        const user = uuidv7();
        await repo.assign({ experiment_key: 'legacy', user_id: user, variant, assigned_at: now });
        for (const value of values) await repo.insertConversion({ id: uuidv7(), experiment_key: 'legacy', user_id: user, variant, metric: 'revenue', value, created_at: now });
      };
      await seed('control', [1.7e308, 1.7e308]);
      await seed('control', [1]);
      await seed('treatment', [-1.7e308, -Number.MAX_VALUE]);
      await seed('treatment', [Number.MAX_VALUE, 3]);
      const r = await results('legacy');
      assert.equal(r.variants[0].rate, (2 * MAX_CONVERSION_VALUE + 1) / 2);
      assert.equal(r.variants[1].rate, (-2 * MAX_CONVERSION_VALUE + MAX_CONVERSION_VALUE + 3) / 2);
    });

    it(`one user records at most ${MAX_CONVERSIONS_PER_USER} conversions per experiment (409 after); others still can`, async (ctx) => {
      if (skip) return ctx.skip(skip);
      await numericExperiment('flood');
      const flooder = await userIn('flood', 'treatment');
      // All but the last allowed conversion through the repository: the HTTP path is the same each time.
      const now = new Date().toISOString();
      for (let i = 0; i < MAX_CONVERSIONS_PER_USER - 1; i++) {
        await repo.insertConversion({ id: uuidv7(), experiment_key: 'flood', user_id: flooder.user.id, variant: 'treatment', metric: 'revenue', value: MAX_CONVERSION_VALUE, created_at: now });
      }
      assert.equal((await experiments.convert(flooder.client, 'flood', 'revenue', MAX_CONVERSION_VALUE)).status, 201);
      const refused = await experiments.convert(flooder.client, 'flood', 'revenue', MAX_CONVERSION_VALUE);
      assert.equal(refused.status, 409);
      assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match((refused.body as unknown as Problem).detail, new RegExp(String(MAX_CONVERSIONS_PER_USER)));
      const other = await userIn('flood', 'control');
      assert.equal((await experiments.convert(other.client, 'flood', 'revenue', 5)).status, 201);
      let r = await results('flood');
      assert.equal(r.variants[0].rate, 5);
      assert.equal(r.variants[1].rate, MAX_CONVERSIONS_PER_USER * MAX_CONVERSION_VALUE);
      // Rows past the cap (concurrent requests slipping through, other writers) add nothing more.
      await repo.insertConversion({ id: uuidv7(), experiment_key: 'flood', user_id: flooder.user.id, variant: 'treatment', metric: 'revenue', value: MAX_CONVERSION_VALUE, created_at: now });
      r = await results('flood');
      assert.equal(r.variants[1].rate, MAX_CONVERSIONS_PER_USER * MAX_CONVERSION_VALUE);
      assert.equal(r.variants[1].conversions, 1, 'one converting user, however many conversions');
    });
  });
}
