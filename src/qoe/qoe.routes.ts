// HTTP for playback quality: players post event batches (anyone, bounded per address), owners and
// admins read a video's or stream's aggregates, admins the instance's by day. Background: pruning
// past QOE_RETENTION_DAYS.
import { Type } from 'typebox';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { addressKey } from '../http/address.js';
import { ForbiddenError, NotFoundError } from '../http/errors.js';
import { requireAdmin, requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { QoeRepository } from './qoe.repository.js';
import { EventBatch, IdParams, MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, QoeSummary, WindowQuery } from './qoe.schemas.js';
import { QoeService, type QoeTargets } from './qoe.service.js';

export interface QoeCapability extends Capability {
  service: QoeService;
}

export function qoeCapability(c: Container, targets: QoeTargets): QoeCapability {
  const cfg = c.config.qoe;
  const service = new QoeService(new QoeRepository(c.db), c.limiter, targets, cfg);
  const log = c.logger.child({ component: 'qoe' });
  let timer: NodeJS.Timeout | null = null;
  const prune = () =>
    service.prune().then(
      (n) => n && log.info({ rows: n }, 'pruned playback telemetry past its retention'),
      (err: Error) => log.warn({ reason: err.message }, 'pruning playback telemetry failed'),
    );
  const tags = ['qoe'];
  const security = [{ bearer: [] }];
  return {
    name: 'qoe',
    service,
    routes(app: NovaApp) {
      app.post(
        '/api/v1/playback/events',
        {
          bodyLimit: MAX_BATCH_BYTES,
          schema: {
            tags,
            summary: 'Report a batch of player events (anyone; sendBeacon-friendly)',
            description: `At most ${MAX_EVENTS_PER_BATCH} events and ${MAX_BATCH_BYTES / 1024} KiB per batch, ${cfg.sessionsPerMinute} new sessions and ${cfg.batchesPerMinute} batches per minute per address, ${cfg.maxEventsPerSession} events per session. A malformed batch is refused whole (400).`,
            body: EventBatch,
            response: { 204: Type.Null({ description: 'Stored' }), ...problems(400, 404, 409, 413, 429) },
          },
        },
        async (req, reply) => {
          await service.ingest(req.body, { user: req.user, address: addressKey(req.ip) });
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/api/v1/videos/:id/qoe',
        {
          schema: {
            tags,
            security,
            summary: "A video's playback quality over a window (owner or admin)",
            params: IdParams,
            querystring: WindowQuery,
            response: { 200: QoeSummary, ...problems(400, 401, 403, 404) },
          },
        },
        async (req) => {
          const user = requireUser(req);
          const owner = await service.videoOwner(req.params.id, user);
          if (owner === null) throw new NotFoundError(`No video ${req.params.id}.`);
          if (owner !== user.id && user.role !== 'admin') throw new ForbiddenError('Only the owner of this video or an admin can see its playback quality.');
          return service.summary(`v:${req.params.id}`, req.query.window ?? '24h', 'hours');
        },
      );

      app.get(
        '/api/v1/streams/:id/qoe',
        {
          schema: {
            tags,
            security,
            summary: "A live stream's playback quality over a window (creator or admin)",
            params: IdParams,
            querystring: WindowQuery,
            response: { 200: QoeSummary, ...problems(400, 401, 403, 404) },
          },
        },
        async (req) => {
          const user = requireUser(req);
          const owner = await service.streamOwner(req.params.id);
          if (owner === null) throw new NotFoundError(`No stream ${req.params.id}.`);
          if (owner !== user.id && user.role !== 'admin') throw new ForbiddenError('Only the creator of this stream or an admin can see its playback quality.');
          return service.summary(`s:${req.params.id}`, req.query.window ?? '24h', 'hours');
        },
      );

      app.get(
        '/api/v1/qoe',
        {
          schema: { tags, security, summary: "The instance's playback quality over a window, by day (admin)", querystring: WindowQuery, response: { 200: QoeSummary, ...problems(400, 401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          return service.summary('*', req.query.window ?? '24h', 'days');
        },
      );
    },
    async start(roles: Roles) {
      if (!roles.api) return;
      void prune();
      timer = setInterval(() => void prune(), cfg.pruneIntervalSeconds * 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
