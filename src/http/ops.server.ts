// The operations listener (METRICS_PORT): /metrics, /healthz and /readyz on a port of their own,
// so Prometheus and orchestrators reach them on a private interface, workers (which serve no API)
// included, while the public API port no longer exposes the metrics.
import Fastify, { type FastifyInstance } from 'fastify';
import type { NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { healthCapability } from '../health/health.routes.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { serveMetrics } from './metrics.js';

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

export async function startOpsServer(c: Container, port: number, host: string): Promise<OpsServer> {
  const app = Fastify({ loggerInstance: c.logger.child({ component: 'ops' }), disableRequestLogging: true });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.server.headersTimeout = c.config.http.headersTimeoutMs;
  app.server.requestTimeout = c.config.http.requestTimeoutMs;
  await healthCapability(c).routes!(app as unknown as NovaApp);
  serveMetrics(app as unknown as FastifyInstance, c.metrics);
  await app.listen({ port, host });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`, close: () => app.close() };
}
