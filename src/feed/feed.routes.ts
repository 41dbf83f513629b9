// HTTP for the personalised feed. The service is exposed on the capability so an experiment can
// plug in its model selector (FeedService.setModelSelector).
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import type { ModelService } from '../models/models.service.js';
import { FeedRepository } from './feed.repository.js';
import { FeedResultSchema, feedQuery } from './feed.schemas.js';
import { FeedService } from './feed.service.js';

export interface FeedCapability extends Capability {
  service: FeedService;
}

export function feedCapability(c: Container, models: ModelService, followees?: (userId: string) => Promise<string[]>): FeedCapability {
  const cfg = c.config.feed;
  const service = new FeedService(new FeedRepository(c.db), models, cfg, c.logger, followees);
  return {
    name: 'feed',
    service,
    routes(app: NovaApp) {
      app.get('/api/v1/feed', {
        schema: {
          tags: ['feed'],
          security: [{ bearer: [] }],
          summary: 'Videos ranked for the caller by the serving model (trending order when no model can rank)',
          querystring: feedQuery(cfg.maxLimit, cfg.defaultLimit),
          response: { 200: FeedResultSchema, ...problems(400, 401) },
        },
      }, async (req) => {
        const user = requireUser(req);
        // Right after start the models may still be loading; wait for them rather than fall back.
        await models.ready();
        return service.feed(user, req.query.limit ?? cfg.defaultLimit, req.query.cursor);
      });
    },
  };
}
