// `nova train` (`npm run model:train` in a checkout): builds ranking examples from the database, trains the feed ranker and
// writes it as the next version under MODELS_DIR/<FEED_MODEL>/. With too little engagement in the
// database (or --synthetic) it trains on a simulated world instead, so a fresh install still ranks.
// Options: --synthetic, --seed N, --version N, --epochs N, --min-positives N, --force.
// A version that does not beat popularity on NDCG@10 in the offline evaluation is not written
// unless --force.
// The serving processes pick the new version up through POST /api/v1/models/<name>/reload (or the
// directory watch).
import type { Config } from '../config.js';
import { openDatabase } from '../infra/db/database.js';
import { migrateToLatest } from '../infra/db/migrate.js';
import { concatDatasets, databaseDataset, holdOut, type DbDatasetStats } from './feed.dataset.js';
import { nextVersion, writeRanker } from './feed.export.js';
import { databaseTrainingSources, FeedRepository } from './feed.repository.js';
import { DEFAULT_SYNTHETIC, syntheticDataset } from './feed.synthetic.js';
import { beatsPopularity, DEFAULT_OFFLINE, evaluateOffline, metricsLine, syntheticEvaluation, weightsScorer } from './feed.offline.js';
import { evaluate, train, type Dataset, type MlpWeights } from './feed.trainer.js';
import { SMALL_WORLD, type World } from './feed.world.js';

interface Args {
  synthetic: boolean;
  seed: number;
  version?: number;
  epochs: number;
  minPositives: number;
  force: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { synthetic: false, seed: 42, epochs: 30, minPositives: 200, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative whole number`);
      return v;
    };
    if (a === '--synthetic') args.synthetic = true;
    else if (a === '--seed') args.seed = num();
    else if (a === '--version') args.version = num();
    else if (a === '--epochs') args.epochs = num();
    else if (a === '--min-positives') args.minPositives = num();
    else if (a === '--force') args.force = true;
    else throw new Error(`unknown option ${a}`);
  }
  return args;
}

/** Runs the trainer with the command's options; throws with a one-line reason on bad options or data. */
export async function runTrain(argv: string[], config: Config): Promise<void> {
  const args = parseArgs(argv);
  const name = config.feed.model;
  let data: Dataset | null = null;
  let dbStats: DbDatasetStats | null = null;
  let world: World | null = null;
  if (!args.synthetic) {
    const db = openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
    try {
      await migrateToLatest(db);
      const repo = new FeedRepository(databaseTrainingSources(db));
      const follows = await repo.follows(200_000);
      const built = await databaseDataset(repo, args.seed, Date.now(), 200_000, follows);
      dbStats = built.stats;
      world = await repo.engagementWorld(200_000, Date.now());
      data = built.data;
    } finally {
      await db.close();
    }
  }
  const useSynthetic = args.synthetic || !dbStats || dbStats.positives < args.minPositives;
  if (useSynthetic) {
    const synth = syntheticDataset({ seed: args.seed, ...DEFAULT_SYNTHETIC });
    // Real examples, when there are some, still count alongside the simulated ones.
    data = data && data.n > 0 ? concatDatasets(synth, data) : synth;
  }
  const all = data!;
  const { train: trainSet, test } = holdOut(all, 5);
  const started = Date.now();
  const weights = train(trainSet, { hidden: 16, epochs: args.epochs, batchSize: 128, learningRate: 0.01, l2: 1e-4, seed: args.seed });
  const holdout = evaluate(weights, test);
  const fit = evaluate(weights, trainSet);
  const gate = await popularityGate(weights, world, args.seed);
  console.log(gate.lines.join('\n'));
  if (!gate.passed && !args.force) throw new Error('the new version does not beat popularity on NDCG@10; nothing written (--force writes it anyway)');
  const version = args.version ?? nextVersion(config.modelsDir, name);
  const written = writeRanker(config.modelsDir, name, version, weights, {
    source: useSynthetic ? (dbStats && dbStats.positives > 0 ? 'synthetic+database' : 'synthetic') : 'database',
    database: dbStats,
    examples: all.n,
    positives: all.y.reduce((s, b) => s + b, 0),
    seed: args.seed,
    epochs: args.epochs,
    train_auc: Number(fit.auc.toFixed(4)),
    holdout_auc: Number(holdout.auc.toFixed(4)),
    holdout_logloss: Number(holdout.logloss.toFixed(4)),
    seconds: (Date.now() - started) / 1000,
    offline: gate.figures,
    forced: !gate.passed,
  });
  console.log(`${name} v${written.version} written to ${written.dir} (${all.n} examples${useSynthetic ? ', synthetic' : ''}; hold-out AUC ${holdout.auc.toFixed(3)})`);
  console.log(`serve it: POST /api/v1/models/${name}/reload {"version": ${written.version}}`);
}

/** Fewer users engaged in the test days than this and the instance's own figures are not used. */
const MIN_TEST_USERS = 20;

/**
 * The offline evaluation of the new weights ("candidate") against popularity: on five generated
 * worlds (mean ahead by more than the spread) and, when it has enough engagement, on this instance.
 */
async function popularityGate(weights: MlpWeights, world: World | null, seed: number): Promise<{ passed: boolean; lines: string[]; figures: Record<string, unknown> }> {
  const scorers = { candidate: weightsScorer(weights) };
  const s = await syntheticEvaluation(
    [1, 2, 3, 4, 5].map((k) => k + seed),
    SMALL_WORLD,
    scorers,
    { ...DEFAULT_OFFLINE, train: null },
  );
  let passed = beatsPopularity(s, 'candidate');
  const lines = ['offline evaluation, synthetic (mean over 5 seeds):', ...['candidate', 'popularity'].map((r) => metricsLine(r, s.mean[r]))];
  const figures: Record<string, unknown> = {
    synthetic: { candidate: s.mean.candidate, popularity: s.mean.popularity, spread: { candidate: s.spread.candidate.ndcg10, popularity: s.spread.popularity.ndcg10 } },
  };
  if (world) {
    const r = await evaluateOffline(world, { ...DEFAULT_OFFLINE, train: null, seed, scorers });
    if (r.users >= MIN_TEST_USERS) {
      passed &&= r.rankers.candidate.ndcg10 > r.rankers.popularity.ndcg10;
      lines.push(`offline evaluation, this instance (${r.users} users):`, ...['candidate', 'popularity'].map((k) => metricsLine(k, r.rankers[k])));
      figures.instance = { candidate: r.rankers.candidate, popularity: r.rankers.popularity, users: r.users };
    }
  }
  return { passed, lines, figures };
}
