#!/usr/bin/env node
// The `nova` executable: `serve` (API + web + embedded worker + RTMP), `worker`, `migrate`, `train`,
// `health`, and for operators `search reindex` and `events tail`.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createContainer } from './container.js';
import { tailTopic, TopicNotFoundError } from './infra/bus/kafka.tail.js';
import { migrateToLatest } from './infra/db/migrate.js';
import { reindexSearch } from './search/search.reindex.js';
import { startNova } from './server.js';

const USAGE = `Usage: nova <command> [options]
  serve [--no-worker]         HTTP API + web app (+ the job worker unless --no-worker)
  worker [--concurrency N]    run queued jobs only
  migrate                     apply database migrations and exit
  health [--url URL|--worker] exit 0 when this node is ready: the server's /readyz (--url, or PORT
                              on this host); --worker: the database and Redis the worker uses
  train [--synthetic] [--seed N] [--version N] [--epochs N] [--min-positives N]
                              train the feed ranker from engagement and write its next version
  events tail --topic T [--from-beginning] [--limit N]
                              print Kafka records of topic T (KAFKA_TOPIC_PREFIX is added) as JSON lines
  search reindex              rebuild the search index from the videos and live streams`;

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/**
 * The container health check: an API node answers /readyz itself; a worker has no HTTP port, so
 * its check is that the database and Redis it works against answer from inside its container.
 */
async function health(config: Config, url: string | undefined, worker: boolean): Promise<number> {
  const timeout = AbortSignal.timeout(5000);
  if (!worker) {
    const target = url ?? `http://127.0.0.1:${config.port}`;
    const res = await fetch(`${target.replace(/\/$/, '')}/readyz`, { signal: timeout }).catch((err: Error) => err);
    if (res instanceof Error || !res.ok) {
      console.error(`nova: ${target}/readyz ${res instanceof Error ? `did not answer (${res.message})` : `answered ${res.status}`}`);
      return 1;
    }
    return 0;
  }
  const c = createContainer(config);
  try {
    for (const r of c.readiness) await r.check();
    return 0;
  } catch (err) {
    console.error(`nova: not ready: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await c.db.close();
    await c.redis?.quit();
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd = 'serve', ...args] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`nova: ${err.message}`);
      return 2;
    }
    throw err;
  }
  switch (cmd) {
    case 'migrate': {
      const c = createContainer(config);
      try {
        const applied = await migrateToLatest(c.db);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await c.db.close();
        await c.redis?.quit();
      }
      return 0;
    }
    case 'health':
      return health(config, flagValue(args, '--url'), args.includes('--worker'));
    case 'train': {
      // Loaded on demand: serving never needs the trainer.
      const { runTrain } = await import('./feed/train.js');
      await runTrain(args, config);
      return 0;
    }
    case 'search': {
      if (args[0] !== 'reindex') {
        console.error(`nova: unknown search command "${args[0] ?? ''}"\n${USAGE}`);
        return 2;
      }
      const c = createContainer(config);
      try {
        await migrateToLatest(c.db);
        const n = await reindexSearch(c);
        console.log(`search index rebuilt: ${n.videos} videos, ${n.streams} live streams`);
      } finally {
        await c.db.close();
        await c.redis?.quit();
      }
      return 0;
    }
    case 'serve':
    case 'worker': {
      const conc = flagValue(args, '--concurrency');
      if (conc !== undefined) {
        if (!/^\d+$/.test(conc) || Number(conc) < 1) {
          console.error('nova: --concurrency must be a positive whole number');
          return 2;
        }
        config = { ...config, workerConcurrency: Number(conc) };
      }
      const roles = cmd === 'serve' ? { api: true, worker: !args.includes('--no-worker') } : { api: false, worker: true };
      const nova = await startNova(config, roles);
      nova.container.logger.info({ url: nova.url, roles }, `nova ${cmd} started`);
      let stopping = false;
      const shutdown = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        nova.container.logger.info({ signal }, 'shutting down');
        const force = setTimeout(() => process.exit(1), 30_000);
        force.unref();
        await nova.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
      return -1; // keep running
    }
    case 'events':
      return eventsCommand(config, args);
    default:
      console.error(`nova: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

async function eventsCommand(config: Config, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const topic = flagValue(rest, '--topic');
  const limit = flagValue(rest, '--limit');
  if (sub !== 'tail' || !topic || (limit !== undefined && !/^[1-9]\d*$/.test(limit))) {
    console.error(`nova: usage: nova events tail --topic T [--from-beginning] [--limit N]`);
    return 2;
  }
  if (!config.kafkaBrokers) {
    console.error('nova: events tail reads from Kafka: set KAFKA_BROKERS');
    return 2;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    await tailTopic({
      brokers: config.kafkaBrokers,
      topic: `${config.kafkaTopicPrefix}${topic}`,
      groupPrefix: config.kafka.groupPrefix,
      fromBeginning: rest.includes('--from-beginning'),
      limit: limit === undefined ? undefined : Number(limit),
      signal: abort.signal,
      write: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (err) {
    console.error(`nova: ${err instanceof TopicNotFoundError ? err.message : `cannot read from Kafka (${err instanceof Error ? err.message : String(err)})`}`);
    return 1;
  }
  // main() exits right after: let piped output drain first.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    console.error(`nova: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
