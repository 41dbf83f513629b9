// HTTP for model serving: list with metrics, admin reload (validated, atomic swap) and admin
// inference. The capability loads every model at start and, when configured, watches MODELS_DIR.
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { requireAdmin } from '../http/auth.js';
import { ValidationError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import { ReloadBroadcast } from './models.cluster.js';
import { ModelMetrics } from './models.metrics.js';
import { ModelRepository } from './models.repository.js';
import { InferBody, InferResultSchema, ModelList, NameParams, ReloadBody, ReloadResult } from './models.schemas.js';
import { ModelService } from './models.service.js';
import { ModelWatcher } from './models.watcher.js';

export interface ModelsCapability extends Capability {
  service: ModelService;
}

export function modelsCapability(c: Container): ModelsCapability {
  const cfg = c.config.models;
  const repository = new ModelRepository(c.config.modelsDir, cfg.allowedPaths, cfg.maxFileBytes);
  const service = new ModelService(repository, new ModelMetrics(c.metrics, cfg.metricsWindow, cfg.slowMs, c.logger), cfg, c.logger);
  const watcher = cfg.watchIntervalMs > 0 ? new ModelWatcher(service, cfg.watchIntervalMs, c.logger) : null;
  const broadcast = c.redis ? new ReloadBroadcast(c.redis, c.config.queuePrefix, service, c.logger) : null;
  const tags = ['models'];
  const security = [{ bearer: [] }];
  let started = false;
  return {
    name: 'models',
    service,
    routes(app: NovaApp) {
      // Requests right after start wait for the start-up load instead of seeing no models.
      app.addHook('preHandler', async () => service.ready());

      app.get('/api/v1/models', {
        schema: { tags, summary: 'Served models with latency, queue, compute and batch metrics', response: { 200: ModelList } },
      }, async (req) => ({ models: service.list(req.user?.role === 'admin') }));

      app.post('/api/v1/models/:name/reload', {
        schema: {
          tags,
          security,
          summary: 'Load, validate and atomically serve a model version (admin)',
          description: 'Loads `path` (under MODELS_DIR or MODELS_ALLOWED_PATHS), `version`, or the highest version on disk. The file must load, match the serving signature and pass a warm-up run; otherwise 422 and the old version keeps serving.',
          params: NameParams,
          body: ReloadBody,
          response: { 200: ReloadResult, ...problems(400, 401, 403, 404, 413, 422, 503) },
        },
      }, async (req) => {
        requireAdmin(req);
        const body = req.body ?? {};
        if (body.path !== undefined && body.version !== undefined) {
          throw new ValidationError('Give either path or version, not both.', [{ field: 'path', message: 'cannot be combined with version' }]);
        }
        const previous = service.version(req.params.name) ?? null;
        const model = await service.reload(req.params.name, body);
        // Other API processes repeat the reload (each validates the file itself).
        const file = service.servedFile(req.params.name);
        if (broadcast && file) await broadcast.announce(req.params.name, { version: model.version, file });
        return { model, previous_version: previous };
      });

      app.post('/api/v1/models/:name/infer', {
        bodyLimit: cfg.inferMaxBytes,
        schema: {
          tags,
          security,
          summary: 'Run a model on JSON tensors (admin)',
          description: 'Tensors are float32 unless the model declares another element type. Concurrent requests may run together in one batch.',
          params: NameParams,
          body: InferBody,
          response: { 200: InferResultSchema, ...problems(400, 401, 403, 404, 413, 422, 503) },
        },
      }, async (req) => {
        requireAdmin(req);
        return service.inferJson(req.params.name, req.body.inputs, req.body.version);
      });
    },
    async start(roles) {
      // Only processes that serve HTTP run models; job workers leave them alone.
      if (!roles.api) return;
      started = true;
      void service.startInitialLoad();
      watcher?.start();
      await broadcast?.start();
    },
    async stop() {
      if (!started) return;
      watcher?.stop();
      await broadcast?.stop();
      await service.stop();
    },
  };
}
