// The offline evaluation on small generated worlds (5 seeds): the trained ranker beats popularity
// on NDCG@10 by more than the spread, the baselines behave as their definitions say (random covers
// the catalogue, popularity and recency show few distinct videos), and a ranker that prefers the oldest
// videos does not pass the check model:train applies before publishing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEATURE_COUNT } from '../src/feed/feed.features.js';
import { beatsPopularity, metricsLine, syntheticEvaluation, type Scorer } from '../src/feed/feed.offline.js';
import { SMALL_WORLD, syntheticWorld } from '../src/feed/feed.world.js';

/** Ranks the oldest videos first (feature 5 is freshness): a deliberately poor model. */
const oldest: Scorer = (x, n) => Float32Array.from({ length: n }, (_, i) => -x[i * FEATURE_COUNT + 5]);

describe('feed offline evaluation', () => {
  it('the model beats popularity on NDCG@10 by more than the spread over 5 seeds; a poor ranker does not', { timeout: 300_000 }, async () => {
    const s = await syntheticEvaluation([1, 2, 3, 4, 5], SMALL_WORLD, { oldest });
    for (const name of ['model', 'popularity', 'recency', 'random', 'oldest']) {
      const m = s.mean[name];
      assert.match(metricsLine(name, m), new RegExp(`^${name} NDCG@10=[0-9.]+ recall@20=[0-9.]+ coverage=[0-9.]+$`));
      for (const v of [m.ndcg10, m.recall20, m.coverage]) assert.ok(v >= 0 && v <= 1, `${name}: ${metricsLine(name, m)}`);
    }
    assert.ok(beatsPopularity(s), `model ${s.mean.model.ndcg10} ± ${s.spread.model.ndcg10} vs popularity ${s.mean.popularity.ndcg10} ± ${s.spread.popularity.ndcg10}`);
    assert.ok(!beatsPopularity(s, 'oldest'), `oldest ${s.mean.oldest.ndcg10} vs popularity ${s.mean.popularity.ndcg10}`);
    assert.ok(s.mean.model.ndcg10 > s.mean.random.ndcg10);
    // Random shows nearly every video to someone; the non-personal orders show everyone the same few.
    assert.ok(s.mean.random.coverage > 0.9, `random coverage ${s.mean.random.coverage}`);
    assert.ok(s.mean.popularity.coverage < 0.3 && s.mean.recency.coverage < 0.3);
    for (const r of s.runs) assert.ok(r.users > 20 && r.trainExamples > 500, `users ${r.users}, examples ${r.trainExamples}`);
  });

  it('the generated engagement is timestamped, ordered and reproducible', () => {
    const a = syntheticWorld({ seed: 7, ...SMALL_WORLD });
    const b = syntheticWorld({ seed: 7, ...SMALL_WORLD });
    assert.deepEqual(a.events.slice(0, 50), b.events.slice(0, 50));
    assert.equal(a.events.length, b.events.length);
    for (let i = 1; i < a.events.length; i++) assert.ok(a.events[i].atMs >= a.events[i - 1].atMs);
    const published = new Map(a.videos.map((v) => [v.id, v.publishedAtMs]));
    assert.ok(a.events.every((e) => e.atMs >= published.get(e.video)! && e.atMs <= a.endMs));
    assert.ok(a.events.some((e) => e.kind === 'like') && a.events.some((e) => e.kind === 'watch'));
  });
});
