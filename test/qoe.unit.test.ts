// The QoE session state machine and startup histogram, without a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEvents, histogramQuantile, initialState, MAX_GAP_MS, startupBin, type PlaybackEvent } from '../src/qoe/qoe.timeline.js';
import { normals, rng } from './helpers/simulate.js';

describe('QoE session timeline', () => {
  it('attributes each stretch to the state it was in', () => {
    const ev: PlaybackEvent[] = [
      { type: 'level_switch', at_ms: 0, height: 360, bitrate: 800_000 },
      { type: 'rebuffer_start', at_ms: 100 }, // before the first frame: startup, not a rebuffer
      { type: 'startup', at_ms: 500, ms: 500 },
      { type: 'level_switch', at_ms: 5_500, height: 720, bitrate: 2_400_000 },
      { type: 'rebuffer_start', at_ms: 8_500 },
      { type: 'heartbeat', at_ms: 10_500, position: 8, height: 720 },
      { type: 'rebuffer_end', at_ms: 12_500 },
      { type: 'heartbeat', at_ms: 14_500, position: 10, paused: true },
      { type: 'heartbeat', at_ms: 60_000, position: 10, paused: false },
      { type: 'error', at_ms: 61_000, fatal: false, kind: 'bufferStalledError' },
      { type: 'error', at_ms: 62_000, fatal: true, kind: 'fragLoadError' },
      { type: 'end', at_ms: 64_000 },
      { type: 'heartbeat', at_ms: 90_000, position: 12 },
    ];
    const { state, delta } = applyEvents({ ...initialState(), lastAtMs: 0 }, ev);
    // Playing: 0.5–8.5 s, 12.5–14.5 s, 60–64 s = 14 s; stalled 8.5–12.5 s; paused and ended count nothing.
    assert.equal(delta.playMs, 14_000);
    assert.equal(delta.rebufferMs, 4_000);
    assert.equal(delta.rebufferCount, 1);
    assert.equal(delta.startupMs, 500);
    assert.equal(delta.levelSwitches, 1);
    assert.equal(delta.errors, 2);
    assert.equal(delta.newFatal, true);
    assert.deepEqual(
      [...delta.renditionMs],
      [
        [360, 5_000],
        [720, 9_000],
      ],
    );
    assert.equal(delta.bitrateMs, 800 * 5_000 + 2400 * 9_000);
    assert.equal(state.state, 'ended');
  });

  it('counts a long silence as at most 30 s, and state carries across batches', () => {
    const a = applyEvents({ ...initialState(), lastAtMs: 0 }, [{ type: 'startup', at_ms: 0, ms: 300 }]);
    const b = applyEvents(a.state, [
      { type: 'heartbeat', at_ms: 600_000, position: 20 },
      { type: 'startup', at_ms: 600_001, ms: 900 },
    ]);
    assert.equal(b.delta.playMs, MAX_GAP_MS + 1);
    assert.equal(b.delta.startupMs, null, 'only the first startup counts');
  });

  it('histogram percentiles land within half a bin of the exact ones', () => {
    const next = normals(rng(5));
    const values = Array.from({ length: 5000 }, () => 900 * Math.exp(0.6 * next()));
    const bins = new Map<number, number>();
    for (const v of values) bins.set(startupBin(v), (bins.get(startupBin(v)) ?? 0) + 1);
    const sorted = [...values].sort((x, y) => x - y);
    for (const q of [0.5, 0.95]) {
      const exact = sorted[Math.round(q * (sorted.length - 1))]!;
      const est = histogramQuantile(bins, q)!;
      assert.ok(Math.abs(est / exact - 1) < 0.045, `q${q}: ${est} vs ${exact}`);
    }
    assert.ok(Math.abs(histogramQuantile(new Map([[startupBin(1234), 1]]), 0.5)! / 1234 - 1) < 0.045);
    assert.equal(histogramQuantile(new Map([[startupBin(1234), 1]]), 0.5), histogramQuantile(new Map([[startupBin(1234), 1]]), 0.95));
    assert.equal(histogramQuantile(new Map(), 0.5), null);
  });
});
