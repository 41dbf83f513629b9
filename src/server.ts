// Runs a Nova process: migrations, HTTP, and the background work of each role (API and/or worker),
// with a graceful shutdown on SIGTERM/SIGINT: WebSocket clients are told to reconnect elsewhere,
// HTTP stops, then each capability stops its background work in reverse order of start.
import { once } from 'node:events';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { createCapabilities, type CapabilityOptions } from './capabilities.js';
import type { Capability, NovaApp, Roles } from './capability.js';
import { createContainer, type Container } from './container.js';
import { migrateToLatest } from './infra/db/migrate.js';
import { startOpsServer, type OpsServer } from './http/ops.server.js';
import { reportMediaTools } from './media/index.js';
import type { Logger } from './infra/logger.js';

export interface RunningNova {
  container: Container;
  app: NovaApp | null;
  /** Base URL of the HTTP server, when it serves HTTP. */
  url: string | null;
  /** Base URL of the metrics and health listener, when METRICS_PORT is set. */
  opsUrl: string | null;
  capabilities: Capability[];
  stop(): Promise<void>;
}

export async function startNova(config: Config, roles: Roles, logger?: Logger, options: CapabilityOptions = {}): Promise<RunningNova> {
  const container = createContainer(config, logger);
  const capabilities: Capability[] = [];
  let app: NovaApp | null = null;
  let ops: OpsServer | null = null;
  // A node on its way out stops being ready at once, so a load balancer sends no new work to it.
  let stopping = false;
  container.readiness.push({
    name: 'shutdown',
    check: async () => {
      if (stopping) throw new Error('shutting down');
    },
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    if (app) {
      await closeSockets(app);
      await app.close().catch(() => {});
    }
    await ops?.close().catch(() => {});
    // Every created capability is stopped, not only the started ones: some open connections when
    // they are created (queue, chat relay), and a start-up that failed half-way must not leak them.
    for (const cap of [...capabilities].reverse()) await cap.stop?.().catch((err) => container.logger.warn({ err, capability: cap.name }, 'stop failed'));
    for (const close of [...container.closers].reverse()) await close().catch(() => {});
  };
  try {
    const applied = await migrateToLatest(container.db);
    if (applied.length) container.logger.info({ applied }, 'migrations applied');
    reportMediaTools(config, container.logger);
    capabilities.push(...createCapabilities(container, options));
    if (config.http.production && !config.publicUrl) {
      container.logger.warn(
        "PUBLIC_URL is not set in production: absolute links (upload URLs, playlists) are built from the request's Host header (and forwarded headers only from TRUST_PROXY proxies); set PUBLIC_URL to the address clients use.",
      );
    }
    if (config.http.metricsPort !== undefined) ops = await startOpsServer(container, config.http.metricsPort, config.http.metricsHost);
    let url: string | null = null;
    if (roles.api) {
      app = await buildApp(container, capabilities);
      await app.listen({ port: config.port, host: config.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      url = `http://127.0.0.1:${port}`;
    }
    for (const cap of capabilities) {
      if (cap.start) await cap.start(roles);
    }
    return { container, app, url, opsUrl: ops?.url ?? null, capabilities, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** How long clients get to answer the close handshake before their sockets are cut. */
const SOCKET_CLOSE_GRACE_MS = 2000;

/**
 * Closes every WebSocket (chat, progress) with 1012 "service restart" before the server closes, so
 * clients reconnect at once (through the load balancer, to another node) instead of treating it as
 * an error. Fastify's own close would send no code, and wait 30 s for a peer that never answers.
 */
async function closeSockets(app: NovaApp): Promise<void> {
  const clients = [...(app.websocketServer?.clients ?? [])];
  if (clients.length === 0) return;
  const closed = clients
    .filter((ws) => ws.readyState !== ws.CLOSED)
    .map((ws) =>
      once(ws, 'close').then(
        () => undefined,
        () => undefined,
      ),
    );
  for (const ws of clients) ws.close(1012, 'service restart');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, SOCKET_CLOSE_GRACE_MS)))]);
  clearTimeout(timer);
  for (const ws of clients) if (ws.readyState !== ws.CLOSED) ws.terminate();
}
