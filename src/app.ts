// Builds the Fastify app: logging with request ids, auth, problem+json errors, OpenAPI at /docs,
// metrics, then every capability's routes.
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { v4 as uuidv4 } from 'uuid';
import type { Capability, NovaApp } from './capability.js';
import type { Container } from './container.js';
import { registerAuth } from './http/auth.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { limitConnections, guardRequests } from './http/connections.js';
import { registerHttpMetrics } from './http/metrics.js';
import { requestLoggerFactory } from './http/request-logger.js';
import { finiteNumberValidator } from './http/validation.js';
import { ProblemSchema } from './http/problem.schema.js';

/** Believes X-Forwarded-For for the nearest `hops` proxies (the entries they appended), no further. */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

export async function buildApp(c: Container, capabilities: Capability[]): Promise<NovaApp> {
  const app = Fastify({
    loggerInstance: c.logger,
    // request.log is made when the request first logs (src/http/request-logger.ts).
    childLoggerFactory: requestLoggerFactory,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : uuidv4();
    },
    requestIdHeader: false,
    // Only the configured proxies may say who the client is (TRUST_PROXY); by default none may.
    trustProxy: typeof c.config.trustProxy === 'number' ? trustHops(c.config.trustProxy) : c.config.trustProxy,
    bodyLimit: 1024 * 1024,
    // Node checks the header timeout this often (30 s by default, far coarser than the timeout itself).
    http: { connectionsCheckingInterval: Math.min(5000, Math.max(250, Math.floor(c.config.http.headersTimeoutMs / 2))) },
    routerOptions: { ignoreTrailingSlash: true },
    // Errors the router raises before any route runs (a malformed or overlong URL) answer problem+json too.
    frameworkErrors: (err, req, reply) => void errorHandler(err, req, reply),
    // Non-finite numbers ("Infinity", 1e309) are refused on every route (src/http/validation.ts).
    schemaController: { compilersFactory: { buildValidator: finiteNumberValidator() as never } },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as NovaApp;

  // The request id is echoed back so a user's report can be matched to the logs. Hooks that run
  // on every request (static assets too) take a callback rather than being async: no promise and
  // no extra microtask per request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  limitConnections(app.server, c.config.http, c.logger);
  guardRequests(app, c.config.http);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addSchema(ProblemSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Nova API', version: '1', description: 'Self-hostable video platform: VOD, live, chat, events, models, discovery.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // One WebSocket plugin for every capability (chat, progress); 1 MiB frames at most.
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });

  registerAuth(app, (token) => c.accounts.authenticate(token));
  // With METRICS_PORT the metrics are served there (src/http/ops.server.ts), not to API clients.
  registerHttpMetrics(app, c.metrics, { serve: c.config.http.metricsPort === undefined });

  for (const cap of capabilities) {
    if (cap.routes) await app.register(async (scope) => cap.routes!(scope as NovaApp));
  }
  return app;
}
