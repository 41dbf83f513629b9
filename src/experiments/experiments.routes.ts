// HTTP for experiments: admin management, per-user assignment and conversions, results.
import { Type } from 'typebox';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { requireAdmin, requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { ExperimentsRepository } from './experiments.repository.js';
import { ExperimentsService } from './experiments.service.js';
import type { SessionsReader } from './experiments.guardrails.js';
import { Assignment, ConversionBody, ConversionResult, CreateExperiment, ExperimentSchema, KeyParams, PatchExperiment, ResultsSchema } from './experiments.schemas.js';

export interface ExperimentsCapability extends Capability {
  service: ExperimentsService;
}

export function experimentsCapability(c: Container, sessions: SessionsReader | null = null): ExperimentsCapability {
  const service = new ExperimentsService(new ExperimentsRepository(c.db), sessions);
  const log = c.logger.child({ component: 'experiments' });
  let timer: NodeJS.Timeout | null = null;
  const check = () =>
    service.checkGuardrails().then(
      (keys) => keys.length && log.warn({ experiments: keys }, 'guardrails stopped experiments'),
      (err: Error) => log.warn({ reason: err.message }, 'checking experiment guardrails failed'),
    );
  const tags = ['experiments'];
  const security = [{ bearer: [] }];
  return {
    name: 'experiments',
    service,
    async start(roles: Roles) {
      if (!roles.api) return;
      timer = setInterval(() => void check(), c.config.experiments.guardrailIntervalSeconds * 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    routes(app: NovaApp) {
      app.post(
        '/api/v1/experiments',
        {
          schema: { tags, security, summary: 'Create an experiment (admin)', body: CreateExperiment, response: { 201: ExperimentSchema, ...problems(400, 401, 403, 409, 422) } },
        },
        async (req, reply) => {
          const admin = requireAdmin(req);
          return reply.code(201).send(await service.create(req.body, admin.id));
        },
      );

      app.get(
        '/api/v1/experiments',
        {
          schema: { tags, security, summary: 'List experiments (admin)', response: { 200: Type.Object({ experiments: Type.Array(ExperimentSchema) }), ...problems(401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          return { experiments: await service.list() };
        },
      );

      app.get(
        '/api/v1/experiments/:key',
        {
          schema: { tags, security, summary: 'One experiment (admin)', params: KeyParams, response: { 200: ExperimentSchema, ...problems(401, 403, 404) } },
        },
        async (req) => {
          requireAdmin(req);
          return service.get(req.params.key);
        },
      );

      app.patch(
        '/api/v1/experiments/:key',
        {
          schema: { tags, security, summary: 'Raise traffic (admin)', params: KeyParams, body: PatchExperiment, response: { 200: ExperimentSchema, ...problems(400, 401, 403, 404, 422) } },
        },
        async (req) => {
          requireAdmin(req);
          return service.setTraffic(req.params.key, req.body.traffic_percent);
        },
      );

      app.post(
        '/api/v1/experiments/:key/stop',
        {
          schema: { tags, security, summary: 'Stop an experiment (admin)', params: KeyParams, response: { 200: ExperimentSchema, ...problems(401, 403, 404) } },
        },
        async (req) => {
          requireAdmin(req);
          return service.stop(req.params.key);
        },
      );

      app.get(
        '/api/v1/experiments/:key/assignment',
        {
          schema: { tags, security, summary: "The caller's sticky variant (null outside the traffic)", params: KeyParams, response: { 200: Assignment, ...problems(401, 404) } },
        },
        async (req) => {
          const user = requireUser(req);
          const { variant } = await service.assign(req.params.key, user.id);
          return { experiment: req.params.key, variant };
        },
      );

      app.post(
        '/api/v1/experiments/:key/conversions',
        {
          schema: {
            tags,
            security,
            summary: 'Record a conversion for the caller',
            params: KeyParams,
            body: ConversionBody,
            response: { 201: ConversionResult, 200: ConversionResult, ...problems(400, 401, 404, 409, 422) },
          },
        },
        async (req, reply) => {
          const user = requireUser(req);
          const r = await service.convert(req.params.key, user.id, req.body.metric, req.body.value);
          return reply.code(r.recorded ? 201 : 200).send(r);
        },
      );

      app.get(
        '/api/v1/experiments/:key/results',
        {
          schema: {
            tags,
            summary: 'Per-variant results with lift, 95 % CI, p-value, CUPED, always-valid p-value, guardrails and SRM check',
            params: KeyParams,
            response: { 200: ResultsSchema, ...problems(404) },
          },
        },
        async (req) => service.results(req.params.key),
      );
    },
  };
}
