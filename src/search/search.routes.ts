// HTTP for search and the capability that keeps stream documents and popularity current from
// events (video documents change in the videos' own transactions, see videos.wiring).
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { consumeEvents } from '../events/events.consumer.js';
import type { EventEnvelope } from '../events/events.types.js';
import { problems } from '../http/problem.schema.js';
import { baseUrl } from '../videos/videos.routes.js';
import { VideosRepository } from '../videos/videos.repository.js';
import { mediaUrl } from '../videos/videos.json.js';
import { streamDocument } from './search.documents.js';
import { SearchRepository } from './search.repository.js';
import { SearchQuerySchema, SearchResultSchema } from './search.schemas.js';
import { SearchService } from './search.service.js';

const SEARCH_EVENTS = ['stream.started', 'stream.ended', 'video.viewed', 'video.liked'] as const;

export function searchCapability(c: Container): Capability {
  const repo = new SearchRepository(c.db);
  const service = new SearchService(repo, new VideosRepository(c.db), c.accounts);
  const log = c.logger.child({ component: 'search' });
  const subscription = consumeEvents(
    c.bus,
    c.db,
    {
      name: 'search',
      topics: ['streams.events', 'videos.events'],
      types: SEARCH_EVENTS,
      handle: async (trx, events: EventEnvelope[]) => {
        for (const e of events) {
          if (e.event_type === 'stream.started') {
            const p = e as EventEnvelope<'stream.started'>;
            await repo.put(trx, streamDocument(p));
          } else if (e.event_type === 'stream.ended') {
            await repo.remove(trx, (e as EventEnvelope<'stream.ended'>).stream_id);
          } else if (e.event_type === 'video.viewed') {
            await repo.addPopularity((e as EventEnvelope<'video.viewed'>).video_id, 1, trx);
          } else if (e.event_type === 'video.liked') {
            const p = e as EventEnvelope<'video.liked'>;
            await repo.addPopularity(p.video_id, p.liked ? 3 : -3, trx);
          }
        }
      },
    },
    log,
  );

  return {
    name: 'search',
    routes(app: NovaApp) {
      app.get(
        '/api/v1/search',
        {
          schema: {
            tags: ['search'],
            summary: 'Search videos, live streams or users: words in any order, prefixes, case and diacritics ignored',
            querystring: SearchQuerySchema,
            response: { 200: SearchResultSchema, ...problems(400) },
          },
        },
        async (req) => {
          const r = await service.search(req.user, req.query);
          const base = baseUrl(req, c.config.publicUrl);
          return {
            next_cursor: r.next_cursor,
            items: r.items.map(({ video, ...item }) =>
              video
                ? {
                    ...item,
                    visibility: video.visibility,
                    status: video.status,
                    duration_seconds: video.duration_seconds,
                    // A private video's poster needs its playback token: it is left out here.
                    thumbnail_url: video.visibility === 'private' ? null : mediaUrl(base, video.id, video.thumbnail_key),
                  }
                : item,
            ),
          };
        },
      );
    },
    async start() {
      await repo.forgetIndexSamples();
    },
    async stop() {
      await subscription.close();
    },
  };
}
