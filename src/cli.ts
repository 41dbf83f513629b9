#!/usr/bin/env node
// The `nova` executable: `serve` (API + web + embedded worker + RTMP), `worker`, `migrate`,
// `search reindex`.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createContainer } from './container.js';
import { migrateToLatest } from './infra/db/migrate.js';
import { reindexSearch } from './search/search.reindex.js';
import { startNova } from './server.js';

const USAGE = `Usage: nova <command> [options]
  serve [--no-worker]         HTTP API + web app (+ the job worker unless --no-worker)
  worker [--concurrency N]    run queued jobs only
  migrate                     apply database migrations and exit
  search reindex              rebuild the search index from the videos and live streams`;

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
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
    default:
      console.error(`nova: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
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
