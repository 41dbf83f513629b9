// Guardrails on a simulated A/B test (its own seeded generator): 2,000 users, split by the
// experiment's hash, whose generated playback events run through QoE's session state machine and
// are stored as sessions in one transaction (ingest over HTTP is covered by qoe.api; 6,000 single
// requests would only time the disk). The treatment stalls more, so its rebuffer_ratio guardrail
// flags and auto_stop stops the experiment (everyone gets control, `experiment.stopped` is
// emitted). An A/A test on another 2,000 users flags nothing and keeps running.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { chooseVariant, hashPosition } from '../src/experiments/assignment.js';
import { experiments } from '../src/client/experiments.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import type { ExperimentsCapability } from '../src/experiments/experiments.routes.js';
import { QoeRepository } from '../src/qoe/qoe.repository.js';
import { applyEvents, initialState, type PlaybackEvent } from '../src/qoe/qoe.timeline.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { normals, poisson, rng } from './helpers/simulate.js';
import { insertReadyVideo } from './helpers/videos-db.js';

/** One session's events: startup (log-normal around 800 ms), heartbeats, Poisson stalls of 1–4 s, end. */
function session(uniform: () => number, normal: () => number, stallsPerMinute: number): PlaybackEvent[] {
  const startup = Math.round(800 * Math.exp(0.4 * normal()));
  const seconds = 30 + Math.floor(uniform() * 150);
  const ev: PlaybackEvent[] = [
    { type: 'level_switch', at_ms: 0, height: 720, bitrate: 2_500_000 },
    { type: 'startup', at_ms: startup, ms: startup },
  ];
  let at = startup;
  for (let s = 10; s <= seconds; s += 10) {
    at += 10_000;
    ev.push({ type: 'heartbeat', at_ms: at, position: s, height: 720 });
    for (let k = poisson(uniform, stallsPerMinute / 6); k > 0; k--) {
      const stall = 1000 + Math.floor(uniform() * 3000);
      ev.push({ type: 'rebuffer_start', at_ms: at + 1 }, { type: 'rebuffer_end', at_ms: at + 1 + stall });
      at += stall + 2;
    }
  }
  ev.push({ type: 'end', at_ms: at + 1000 });
  return ev;
}

describe('experiment guardrails on simulated playback', () => {
  let t: TestNova;
  let admin: NovaClient;
  let videoId: string;
  let experimentsCap: ExperimentsCapability;
  before(async () => {
    t = await startTestNova({ EXPERIMENT_GUARDRAIL_INTERVAL_SECONDS: '3600' });
    const a = await t.client.newUser('admin');
    admin = a.client;
    videoId = await insertReadyVideo(t, a.user.id, 'feed pick');
    experimentsCap = t.nova.capabilities.find((c) => c.name === 'experiments') as ExperimentsCapability;
  });
  after(async () => t?.stop());

  /** 2,000 users split by the hash, each with 1–2 sessions after exposure; treatment stalls at `treatmentStalls` per minute. */
  async function simulate(key: string, seed: number, treatmentStalls: number): Promise<Map<string, string>> {
    const res = await experiments.create(admin, {
      key,
      variants: [
        { key: 'control', weight: 50 },
        { key: 'treatment', weight: 50 },
      ],
      traffic_percent: 100,
      metric: 'watch',
      guardrails: [
        { metric: 'rebuffer_ratio', max_regression: 0.1 },
        { metric: 'startup_ms_p50', max_regression: 0.1 },
        { metric: 'error_sessions_ratio', max_regression: 0.5 },
      ],
      auto_stop: true,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const uniform = rng(seed);
    const normal = normals(uniform);
    const variantOf = new Map<string, string>();
    const exposed = new Date(Date.now() - 3_600_000).toISOString();
    const started = new Date().toISOString();
    const variants = [
      { key: 'control', weight: 50 },
      { key: 'treatment', weight: 50 },
    ];
    await t.nova.container.db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < 2000; i++) {
        // Ids from the seed too, so the hash splits the same users the same way on every run.
        const userId = `00000000-0000-4000-8000-${(seed * 1_000_000 + i).toString(16).padStart(12, '0')}`;
        const variant = chooseVariant(hashPosition(key, userId), variants, 1)!;
        variantOf.set(userId, variant);
        await trx.insertInto('experiment_assignments').values({ experiment_key: key, user_id: userId, variant, assigned_at: exposed }).execute();
        const stalls = variant === 'treatment' ? treatmentStalls : 0.5;
        for (let s = 1 + (uniform() < 0.5 ? 1 : 0); s > 0; s--) {
          const events = session(uniform, normal, stalls);
          if (uniform() < 0.01) events.splice(2, 0, { type: 'error', at_ms: events[1]!.at_ms, fatal: true, kind: 'mediaError' });
          const { state, delta } = applyEvents({ ...initialState(), lastAtMs: 0 }, events);
          await new QoeRepository(t.nova.container.db).insertSession(trx, {
            session_id: uuidv7(),
            video_id: videoId,
            stream_id: null,
            user_id: userId,
            started_at: started,
            updated_at: started,
            origin_ms: Date.now(),
            last_at_ms: state.lastAtMs,
            state: state.state,
            height: state.height,
            bitrate: state.bitrate,
            startup_ms: state.startupMs,
            play_ms: delta.playMs,
            rebuffer_ms: delta.rebufferMs,
            rebuffer_count: delta.rebufferCount,
            level_switches: delta.levelSwitches,
            error_count: delta.errors,
            fatal: state.fatal ? 1 : 0,
            events: events.length,
            version: 1,
          });
        }
      }
    });
    return variantOf;
  }

  it('2,000 users, treatment stalls more: the guardrail flags and auto_stop stops the experiment', async () => {
    const variantOf = await simulate('ranker-ab', 11, 1.5);
    const results = await experiments.results(t.client, 'ranker-ab');
    assert.equal(results.status, 200);
    const [control, treatment] = results.body.variants;
    assert.equal(control!.users + treatment!.users, 2000);
    const rebuffer = treatment!.guardrails!.find((g) => g.metric === 'rebuffer_ratio')!;
    console.log(
      `# A/B rebuffer_ratio: control ${control!.guardrails![0]!.value!.toFixed(4)}, treatment ${rebuffer.value!.toFixed(4)}, lift ${(rebuffer.lift! * 100).toFixed(1)} % (always-valid CI ${(rebuffer.ci_low! * 100).toFixed(1)} … ${(rebuffer.ci_high! * 100).toFixed(1)} %)`,
    );
    assert.equal(rebuffer.flag, true);
    assert.ok(rebuffer.ci_low! > 0.1);
    for (const g of treatment!.guardrails!.filter((x) => x.metric !== 'rebuffer_ratio')) assert.equal(g.flag, false, `${g.metric} is not worse`);

    assert.deepEqual(await experimentsCap.service.checkGuardrails(), ['ranker-ab']);
    const e = await admin.get<{ status: string; stop_reason: string }>('/api/v1/experiments/ranker-ab');
    assert.equal(e.body.status, 'stopped');
    assert.match(e.body.stop_reason, /rebuffer_ratio/);
    // Everyone gets control now, including the treatment's users.
    const treated = [...variantOf].find(([, v]) => v === 'treatment')![0];
    assert.equal((await experimentsCap.service.assign('ranker-ab', treated)).variant, 'control');
    const ev = await t.nova.container.db.kysely.selectFrom('outbox').select(['topic', 'payload']).where('event_type', '=', 'experiment.stopped').execute();
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.topic, 'experiments.events');
    const payload = JSON.parse(ev[0]!.payload) as { experiment_key: string; reason: string; guardrails: Array<{ variant: string; metric: string }> };
    assert.equal(payload.experiment_key, 'ranker-ab');
    assert.deepEqual(
      payload.guardrails.map((g) => [g.variant, g.metric]),
      [['treatment', 'rebuffer_ratio']],
    );
    // A second check (another node, a later tick) stops nothing twice.
    assert.deepEqual(await experimentsCap.service.checkGuardrails(), []);
  });

  it('an A/A test flags nothing and keeps running', async () => {
    await simulate('ranker-aa', 12, 0.5);
    const results = await experiments.results(t.client, 'ranker-aa');
    const [, treatment] = results.body.variants;
    for (const g of treatment!.guardrails!) {
      assert.equal(g.flag, false, `${g.metric}: ${JSON.stringify(g)}`);
      assert.ok(g.ci_low! < 0 && g.ci_high! > 0, `${g.metric} CI covers 0: ${g.ci_low} … ${g.ci_high}`);
    }
    assert.deepEqual(await experimentsCap.service.checkGuardrails(), []);
    assert.equal((await admin.get<{ status: string }>('/api/v1/experiments/ranker-aa')).body.status, 'running');
  });
});
