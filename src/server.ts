// Runs a Nova process: migrations, HTTP, and the background work of each role (API and/or worker),
// with a graceful shutdown on SIGTERM/SIGINT.
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { createCapabilities } from './capabilities.js';
import type { Capability, NovaApp, Roles } from './capability.js';
import { createContainer, type Container } from './container.js';
import { migrateToLatest } from './infra/db/migrate.js';
import type { Logger } from './infra/logger.js';

export interface RunningNova {
  container: Container;
  app: NovaApp | null;
  /** Base URL of the HTTP server, when it serves HTTP. */
  url: string | null;
  capabilities: Capability[];
  stop(): Promise<void>;
}

export async function startNova(config: Config, roles: Roles, logger?: Logger): Promise<RunningNova> {
  const container = createContainer(config, logger);
  const capabilities: Capability[] = [];
  let app: NovaApp | null = null;
  const started: Capability[] = [];
  const stop = async (): Promise<void> => {
    if (app) await app.close().catch(() => {});
    for (const cap of [...started].reverse()) await cap.stop?.().catch((err) => container.logger.warn({ err, capability: cap.name }, 'stop failed'));
    for (const close of [...container.closers].reverse()) await close().catch(() => {});
  };
  try {
    const applied = await migrateToLatest(container.db);
    if (applied.length) container.logger.info({ applied }, 'migrations applied');
    capabilities.push(...createCapabilities(container));
    let url: string | null = null;
    if (roles.api) {
      app = await buildApp(container, capabilities);
      await app.listen({ port: config.port, host: config.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      url = `http://127.0.0.1:${port}`;
    }
    for (const cap of capabilities) {
      if (cap.start) {
        await cap.start(roles);
        started.push(cap);
      }
    }
    return { container, app, url, capabilities, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
