// `npm run model:eval`: the offline evaluation (feed.offline.ts) of the feed ranker against the
// popularity, recency and random baselines, on generated worlds (5 seeds: mean and spread) and on
// this instance's engagement when it has enough. `model` is the trainer's recipe trained on the
// past; `served` is the highest version on disk. Options: --seeds N, --test-days N.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../infra/db/database.js';
import { migrateToLatest } from '../infra/db/migrate.js';
import { latestVersion, readRanker } from './feed.export.js';
import { beatsPopularity, DEFAULT_OFFLINE, evaluateOffline, metricsLine, syntheticEvaluation, weightsScorer, type Scorer } from './feed.offline.js';
import { databaseTrainingSources, FeedRepository } from './feed.repository.js';
import { DEFAULT_WORLD } from './feed.world.js';

/** Fewer test users than this and the instance's figures say nothing. */
const MIN_TEST_USERS = 20;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let seeds = 5;
  let testDays = DEFAULT_OFFLINE.testDays;
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--seeds' && Number.isInteger(v) && v >= 1) seeds = v;
    else if (argv[i] === '--test-days' && Number.isInteger(v) && v >= 1) testDays = v;
    else throw new Error(`unknown option or bad value: ${argv[i]} ${argv[i + 1] ?? ''}`);
    i++;
  }
  const config = loadConfig(process.env);
  const name = config.feed.model;
  const scorers: Record<string, Scorer> = {};
  const served = latestVersion(config.modelsDir, name);
  const servedWeights = served ? readRanker(path.join(config.modelsDir, name, String(served), 'model.onnx')) : null;
  if (servedWeights) scorers.served = weightsScorer(servedWeights);
  const opts = { ...DEFAULT_OFFLINE, testDays };

  const s = await syntheticEvaluation(
    Array.from({ length: seeds }, (_, i) => i + 1),
    DEFAULT_WORLD,
    scorers,
    opts,
  );
  console.log(`synthetic engagement (${DEFAULT_WORLD.users} users, ${DEFAULT_WORLD.videos} videos, ${DEFAULT_WORLD.days} days, last ${testDays} held out), mean over ${seeds} seeds:`);
  for (const [ranker, m] of Object.entries(s.mean)) console.log(metricsLine(ranker, m));
  console.log(`spread (standard deviation over ${seeds} seeds):`);
  for (const [ranker, m] of Object.entries(s.spread)) console.log(metricsLine(ranker, m));
  console.log(`model beats popularity on NDCG@10 by more than the spread: ${beatsPopularity(s) ? 'yes' : 'NO'}`);
  if (servedWeights) console.log(`served (${name} v${served}) beats popularity on NDCG@10 by more than the spread: ${beatsPopularity(s, 'served') ? 'yes' : 'NO'}`);

  const db = openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  try {
    await migrateToLatest(db);
    const world = await new FeedRepository(databaseTrainingSources(db)).engagementWorld(200_000, Date.now());
    const r = await evaluateOffline(world, { ...opts, seed: 1, scorers });
    if (r.users < MIN_TEST_USERS) {
      console.log(`this instance: too little engagement to evaluate (${r.users} users engaged in the last ${testDays} days; ${MIN_TEST_USERS} needed)`);
    } else {
      console.log(`this instance (${r.users} users, ${r.candidates} videos, ${r.trainExamples} training examples):`);
      for (const [ranker, m] of Object.entries(r.rankers)) console.log(metricsLine(ranker, m));
    }
  } finally {
    await db.close();
  }
  if (!fs.existsSync(config.modelsDir)) console.log(`(no ${config.modelsDir}: no served model to evaluate)`);
}

main().catch((err) => {
  console.error(`model:eval: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
});
