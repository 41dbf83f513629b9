// HTTP for the personalised feed, and the wiring of its read model (feed.state): the owning
// capabilities' query functions it reads from, and the bus consumer that keeps it current. The
// model selector (an experiment's) is passed in when the capability is built.
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { mostEngagedVideos, userEngagement, videoTotals } from '../engagement/engagement.queries.js';
import type { EventEnvelope } from '../events/events.types.js';
import type { Subscription } from '../infra/bus/bus.js';
import { requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import type { ModelService } from '../models/models.service.js';
import { listedVideos, newestListedVideos, videoOwners } from '../videos/videos.queries.js';
import { FeedResultSchema, feedQuery } from './feed.schemas.js';
import { FeedService, type FeedModelSelector } from './feed.service.js';
import { FeedState } from './feed.state.js';

export interface FeedCapability extends Capability {
  service: FeedService;
}

/** The read model, built before the capabilities that tell it about their users' actions. */
export function createFeedState(c: Container, followees: (userId: string) => Promise<string[]>): FeedState {
  const db = c.db;
  return new FeedState(
    {
      newestListed: (limit) => newestListedVideos(db, limit),
      mostEngaged: (limit) => mostEngagedVideos(db, limit),
      listed: (ids) => listedVideos(db, ids),
      totals: (ids) => videoTotals(db, ids),
      owners: (ids) => videoOwners(db, ids),
      userEngagement: (userId, limit) => userEngagement(db, userId, limit),
      followees,
    },
    // The pool holds every candidate any viewer can get, and more.
    { maxVideos: Math.max(10_000, c.config.feed.maxCandidates * 4), maxViewers: 100_000, redisPrefix: c.config.feed.redisPrefix },
    c.redis,
    c.logger.child({ component: 'feed' }),
  );
}

/** Event types that change a video's row or a viewer's features. */
const FEED_EVENTS = new Set(['video.ready', 'video.updated', 'video.deleted', 'video.viewed', 'video.liked', 'video.watched', 'user.followed', 'user.unfollowed']);

export function feedCapability(c: Container, models: ModelService, state: FeedState, selector?: FeedModelSelector): FeedCapability {
  const cfg = c.config.feed;
  const log = c.logger.child({ component: 'feed' });
  const service = new FeedService(state, models, cfg, c.logger, selector);
  let subscription: Subscription | null = null;
  return {
    name: 'feed',
    service,
    routes(app: NovaApp) {
      app.get(
        '/api/v1/feed',
        {
          schema: {
            tags: ['feed'],
            security: [{ bearer: [] }],
            summary: 'Videos ranked for the caller by the serving model (trending order when no model can rank)',
            querystring: feedQuery(cfg.maxLimit, cfg.defaultLimit),
            response: { 200: FeedResultSchema, ...problems(400, 401) },
          },
        },
        async (req, reply) => {
          const user = requireUser(req);
          // Right after start the models may still be loading; wait for them rather than fall back.
          await models.ready();
          const body = await service.feedBody(user, req.query.limit ?? cfg.defaultLimit, req.query.cursor);
          // Already JSON bytes (FeedResultSchema's fields): sent as is, no serializer, no re-encoding.
          return reply.type('application/json; charset=utf-8').send(body as never);
        },
      );
    },
    async start() {
      await state.start();
      // Refreshing a row re-reads it from its owner, so applying an event twice does no harm:
      // no dedupe table is needed.
      subscription = c.bus.subscribe(['videos.events', 'users.events'], 'feed', async (messages) => {
        const videos = new Set<string>();
        const viewers = new Set<string>();
        for (const m of messages) {
          let e: EventEnvelope;
          try {
            e = JSON.parse(m.value) as EventEnvelope;
          } catch {
            continue;
          }
          if (!FEED_EVENTS.has(e?.event_type)) continue;
          const p = e as unknown as Record<string, unknown>;
          if (typeof p.video_id === 'string') videos.add(p.video_id);
          const who = typeof p.user_id === 'string' ? p.user_id : typeof p.follower_id === 'string' ? p.follower_id : null;
          if (who) viewers.add(who);
        }
        await state.refreshVideos([...videos]);
        for (const id of viewers) await state.viewerChanged(id);
      });
      log.debug('feed consumer started');
    },
    async stop() {
      await subscription?.close();
      await state.stop();
    },
  };
}
