// HTTP for engagement: views (anyone), likes and watch time (signed in), and a per-video summary.
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { addressKey } from '../http/address.js';
import { requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { VideosRepository } from '../videos/videos.repository.js';
import { EngagementRepository } from './engagement.repository.js';
import { EngagementSummary, LikeResult, VideoParams, ViewBody, ViewResult, WatchResult, watchBody } from './engagement.schemas.js';
import { EngagementService } from './engagement.service.js';

export interface EngagementCapability extends Capability {
  service: EngagementService;
}

/** `acted` hears of each like, unlike and counted watch report once it committed. */
export function engagementCapability(c: Container, acted?: (userId: string, videoId: string) => Promise<void>): EngagementCapability {
  const service = new EngagementService(new EngagementRepository(c.db), new VideosRepository(c.db), c.limiter, c.config.engagement, acted);
  const tags = ['engagement'];
  const security = [{ bearer: [] }];
  return {
    name: 'engagement',
    service,
    routes(app: NovaApp) {
      app.post(
        '/api/v1/videos/:id/views',
        {
          schema: {
            tags,
            summary: 'Count a view (once per viewer per video within VIEW_DEDUP_SECONDS)',
            description: 'Signed-in viewers are counted by account; anonymous ones by `viewer_id` when sent, else by a keyed hash of their address.',
            params: VideoParams,
            body: ViewBody,
            response: { 200: ViewResult, ...problems(400, 404, 409, 429) },
          },
          // Every field is optional, so a POST with no body at all counts as an empty one.
          preValidation: async (req) => {
            if (req.body === undefined || req.body === null) req.body = {};
          },
        },
        async (req) => service.view(req.params.id, { userId: req.user?.id ?? null, viewerId: req.body?.viewer_id, ip: addressKey(req.ip) }),
      );

      app.put(
        '/api/v1/videos/:id/like',
        {
          schema: { tags, security, summary: 'Like a video (idempotent)', params: VideoParams, response: { 200: LikeResult, ...problems(401, 404, 409) } },
        },
        async (req) => service.like(req.params.id, requireUser(req).id, true),
      );

      app.delete(
        '/api/v1/videos/:id/like',
        {
          schema: { tags, security, summary: 'Remove your like (idempotent)', params: VideoParams, response: { 200: LikeResult, ...problems(401, 404, 409) } },
        },
        async (req) => service.like(req.params.id, requireUser(req).id, false),
      );

      app.post(
        '/api/v1/videos/:id/watch',
        {
          schema: {
            tags,
            security,
            summary: "Report watch time (counted up to the video's duration per user per VIEW_DEDUP_SECONDS)",
            description:
              'Seconds beyond what the caller may still add to this video in the window are accepted and not counted: ' +
              'see `counted_seconds`. The allowance refills continuously over the window. ' +
              `More than ${c.config.engagement.watchReportsPerMinute} reports per minute for one video answer 429.`,
            params: VideoParams,
            body: watchBody(c.config.engagement.maxWatchSecondsPerCall),
            response: { 200: WatchResult, ...problems(400, 401, 404, 409, 429) },
          },
        },
        async (req) => service.watch(req.params.id, requireUser(req).id, req.body.seconds),
      );

      app.get(
        '/api/v1/videos/:id/engagement',
        {
          schema: { tags, summary: "A video's views, likes and watch time (and the caller's own, when signed in)", params: VideoParams, response: { 200: EngagementSummary, ...problems(404) } },
        },
        async (req) => service.summary(req.params.id, req.user ?? null),
      );
    },
  };
}
