// The trending formula without a server: log-space scores rank exactly like the decayed sums they
// stand for; a recent burst beats more but older engagement in the 1h window and not in 7d; likes
// count once per user; videos leave a window when their latest engagement is older than it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayScore, HALF_LIFE_SECONDS, logAddExp, logTerm, WINDOWS } from '../src/trending/trending.score.js';
import { engagementOf } from '../src/trending/trending.service.js';
import { MemoryTrendingStore } from '../src/trending/trending.store.js';
import type { EventEnvelope } from '../src/events/events.types.js';

const NOW = Date.UTC(2025, 4, 2, 12, 0, 0);
const min = 60_000;

describe('trending score', () => {
  it('log-add-exp is ln(e^a + e^b), also far apart and with -Infinity', () => {
    assert.ok(Math.abs(logAddExp(Math.log(3), Math.log(5)) - Math.log(8)) < 1e-12);
    assert.equal(logAddExp(-Infinity, 2), 2);
    assert.equal(logAddExp(1000, 0), 1000); // no overflow
  });

  it('the decayed score halves every half-life, and ranks like the log score', () => {
    for (const w of WINDOWS) {
      const h = HALF_LIFE_SECONDS[w] * 1000;
      const l = logAddExp(logTerm(w, 2, NOW - h), logTerm(w, 1, NOW));
      assert.ok(Math.abs(displayScore(w, l, NOW) - 2) < 1e-9, `${w}: 2 half a life ago (=1) + 1 now = 2`);
      assert.ok(Math.abs(displayScore(w, l, NOW + h) - 1) < 1e-9, `${w}: one half-life later`);
    }
  });

  it('a recent burst outranks more but older views in 1h, not in 7d', async () => {
    const store = new MemoryTrendingStore();
    // "old": 30 views 50 minutes ago; "burst": 10 views in the last minute.
    await store.add(Array.from({ length: 30 }, () => ({ videoId: 'old', atMs: NOW - 50 * min, weight: 1 })));
    await store.add(Array.from({ length: 10 }, (_, i) => ({ videoId: 'burst', atMs: NOW - i * 5000, weight: 1 })));
    assert.deepEqual(
      (await store.top('1h', 10, NOW)).map((r) => r.videoId),
      ['burst', 'old'],
    );
    assert.deepEqual(
      (await store.top('24h', 10, NOW)).map((r) => r.videoId),
      ['old', 'burst'],
    );
    assert.deepEqual(
      (await store.top('7d', 10, NOW)).map((r) => r.videoId),
      ['old', 'burst'],
    );
    const [burst, old] = await store.top('1h', 10, NOW);
    assert.ok(displayScore('1h', burst.logScore, NOW) > 9.5 && displayScore('1h', burst.logScore, NOW) <= 10);
    assert.ok(Math.abs(displayScore('1h', old.logScore, NOW) - 30 * 2 ** (-50 / 15)) < 1e-6);
  });

  it('a video leaves a window once its latest engagement is older than the window', async () => {
    const store = new MemoryTrendingStore();
    await store.add([
      { videoId: 'two-hours', atMs: NOW - 120 * min, weight: 100 },
      { videoId: 'fresh', atMs: NOW, weight: 1 },
    ]);
    assert.deepEqual(
      (await store.top('1h', 10, NOW)).map((r) => r.videoId),
      ['fresh'],
    );
    assert.deepEqual(
      (await store.top('24h', 10, NOW)).map((r) => r.videoId),
      ['two-hours', 'fresh'],
    );
    await store.prune(NOW + 8 * 24 * 60 * min);
    assert.deepEqual(await store.top('7d', 10, NOW + 8 * 24 * 60 * min), []);
  });

  it('maps events to engagement: views 1, a like 3 once per user, watch time per minute, unlikes nothing', async () => {
    const env = (type: string, extra: Record<string, unknown>) =>
      ({
        event_id: 'e',
        event_type: type,
        schema_version: 1,
        occurred_at: new Date(NOW).toISOString(),
        video_id: 'v',
        timestamp: new Date(NOW - min).toISOString(),
        ...extra,
      }) as unknown as EventEnvelope;
    assert.deepEqual(engagementOf(env('video.viewed', { viewer_id: null }), NOW), { videoId: 'v', atMs: NOW - min, weight: 1 });
    assert.deepEqual(engagementOf(env('video.liked', { user_id: 'u', liked: true }), NOW), { videoId: 'v', atMs: NOW - min, weight: 3, onceKey: 'like:u' });
    assert.equal(engagementOf(env('video.liked', { user_id: 'u', liked: false }), NOW), null);
    assert.equal(engagementOf(env('video.watched', { user_id: 'u', seconds: 90 }), NOW)?.weight, 1.5);
    assert.equal(engagementOf(env('video.watched', { user_id: 'u', seconds: 0 }), NOW), null);
    assert.equal(engagementOf(env('video.viewed', { timestamp: new Date(NOW + 3600_000).toISOString() }), NOW)?.atMs, NOW, 'never in the future');

    const store = new MemoryTrendingStore();
    const like = engagementOf(env('video.liked', { user_id: 'u', liked: true }), NOW)!;
    await store.add([like, like, { ...like, onceKey: 'like:other' }]);
    const [top] = await store.top('7d', 1, NOW);
    assert.ok(Math.abs(displayScore('7d', top.logScore, NOW) - 6) < 0.01, 'two users liking: 3 + 3; the repeat adds nothing');
  });
});
