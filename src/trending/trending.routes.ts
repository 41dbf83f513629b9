// HTTP for trending and the capability that wires it: the bus consumer that feeds engagement into
// the store, the cached lists, GET /api/v1/discover/trending (served from a pre-serialized body
// per window and limit, rebuilt only when the list changes) and its SSE twin.
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import type { Capability, NovaApp } from '../capability.js';
import { ChatRepository } from '../chat/chat.repository.js';
import type { Container } from '../container.js';
import { EngagementRepository } from '../engagement/engagement.repository.js';
import { consumeEvents } from '../events/events.consumer.js';
import { problems } from '../http/problem.schema.js';
import { ValidationError } from '../http/errors.js';
import { LiveRepository } from '../live/live.repository.js';
import { StreamHub } from '../http/sse.js';
import { VideosRepository } from '../videos/videos.repository.js';
import { baseUrl } from '../videos/videos.routes.js';
import { mediaUrl } from '../videos/videos.json.js';
import { RedisTrendingStore } from './trending.redis.store.js';
import { LiveTrending } from './trending.live.js';
import { TrendingRepository } from './trending.repository.js';
import { LiveTrendingQuery, LiveTrendingResponse, TrendingQuery, TrendingResponse } from './trending.schemas.js';
import { TRENDING_EVENTS, TrendingService, type TrendingList } from './trending.service.js';
import { MemoryTrendingStore } from './trending.store.js';

const CONSUMER = 'trending';
const tags = ['discover'];

export function trendingCapability(c: Container): Capability {
  const cfg = c.config.trending;
  const log = c.logger.child({ component: 'trending' });
  const redis = c.redis;
  // The store's writes run inside the consumer's dedupe transaction (on SQLite: the one connection),
  // so they get their own client whose commands fail fast instead of queueing while Redis is away:
  // the transaction rolls back and the events come again, rather than every query waiting.
  const storeRedis = redis ? redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000 }) : null;
  storeRedis?.on('error', () => {});
  const store = storeRedis ? new RedisTrendingStore(storeRedis, cfg.redisPrefix) : new MemoryTrendingStore();
  const service = new TrendingService(
    store,
    new TrendingRepository(c.db, new VideosRepository(c.db), c.accounts, new EngagementRepository(c.db)),
    { maxItems: cfg.maxItems, refreshMs: cfg.refreshMs, debounceMs: cfg.debounceMs, cardTtlMs: 30_000 },
    log,
  );
  const channel = `${cfg.redisPrefix}changed`;
  // Redis writes happen inside the dedupe transaction (a failure rolls it back and the events come
  // again); the in-process store, which cannot fail, is updated once the transaction committed.
  const subscription = consumeEvents(
    c.bus,
    c.db,
    {
      name: CONSUMER,
      topics: ['videos.events'],
      types: TRENDING_EVENTS,
      handle: async (_trx, events) => {
        if (redis) await service.apply(events);
      },
      afterCommit: async (events) => {
        if (!redis) await service.apply(events);
        else {
          // Other nodes cache cards too: name the edited videos so they re-read them.
          const edited = events.filter((e) => e.event_type === 'video.updated').map((e) => (e as { video_id: string }).video_id);
          await redis.publish(channel, edited.length ? JSON.stringify(edited) : '1').catch(() => {});
        }
        service.changed();
      },
    },
    log,
  );
  const live = new LiveTrending(new LiveRepository(c.db), new ChatRepository(c.db), 100);
  let subscriber: Redis | null = null;
  // TRENDING_MAX_STREAMS in all, STREAMS_MAX_PER_ADDRESS from one client address.
  // List versions count from 1 in each process: event ids carry the process's start to tell them apart.
  const epoch = Date.now().toString(36);
  const hub = new StreamHub(
    'trending streams',
    { maxTotal: cfg.maxStreams, maxPerAddress: c.config.http.maxStreamsPerAddress },
    {
      heartbeatMs: c.config.http.sseHeartbeatMs,
      maxBufferedBytes: c.config.http.sseMaxBufferedBytes,
    },
  );
  new Gauge({
    name: 'nova_trending_streams',
    help: 'Open trending SSE streams.',
    registers: [c.metrics],
    collect() {
      this.set(hub.slots.open());
    },
  });

  /** Pre-serialized bodies per window, limit and base URL, valid while the list keeps its version. */
  const bodies = new Map<string, { version: number; body: string }>();
  const render = (list: TrendingList, limit: number, base: string): string =>
    JSON.stringify({
      window: list.window,
      generated_at: list.generated_at,
      items: list.entries.slice(0, limit).map((e) => ({
        id: e.card.id,
        title: e.card.title,
        score: e.score,
        rank: e.rank,
        owner_id: e.card.owner_id,
        owner_username: e.card.owner_username,
        thumbnail_url: mediaUrl(base, e.card.id, e.card.thumbnail_key),
        duration_seconds: e.card.duration_seconds,
        view_count: e.card.view_count,
      })),
    });

  return {
    name: 'trending',
    routes(app: NovaApp) {
      app.addHook('preClose', async () => hub.closeAll());

      app.get(
        '/api/v1/discover/trending',
        {
          schema: { tags, summary: 'Trending videos of a window, best first', querystring: TrendingQuery, response: { 200: TrendingResponse, ...problems(400) } },
        },
        async (req, reply) => {
          const { window, limit } = req.query;
          if (limit > cfg.maxItems) throw new ValidationError(`limit is at most ${cfg.maxItems}.`, [{ field: 'limit', message: `must be <= ${cfg.maxItems}` }]);
          const list = await service.list(window);
          const base = baseUrl(req, c.config.publicUrl);
          // TrendingQuery's union over WINDOWS.map() infers `window` as never; it is one of WINDOWS at run time.
          const key = `${window as string}|${limit}|${base}`;
          let cached = bodies.get(key);
          if (!cached || cached.version !== list.version) {
            if (bodies.size > 1000) bodies.clear();
            cached = { version: list.version, body: render(list, limit, base) };
            bodies.set(key, cached);
          }
          // Already JSON: sent as is, without a second serialization.
          return reply
            .type('application/json')
            .serializer((p: unknown) => p as string)
            .send(cached.body as never);
        },
      );

      app.get(
        '/api/v1/discover/trending/live',
        {
          schema: { tags, summary: 'Live streams now, ranked by current viewers and chat activity', querystring: LiveTrendingQuery, response: { 200: LiveTrendingResponse, ...problems(400) } },
        },
        async (req) => ({ items: await live.list(req.query.limit) }),
      );

      app.get(
        '/api/v1/discover/trending/stream',
        {
          schema: {
            tags,
            summary: 'Trending as Server-Sent Events: a `trending` event with the whole list now and whenever it changes',
            querystring: TrendingQuery,
            response: { ...problems(400, 429) },
          },
        },
        async (req, reply) => {
          const { window, limit } = req.query;
          if (limit > cfg.maxItems) throw new ValidationError(`limit is at most ${cfg.maxItems}.`, [{ field: 'limit', message: `must be <= ${cfg.maxItems}` }]);
          const release = hub.slots.acquire(req.ip);
          let first: TrendingList;
          try {
            first = await service.list(window);
          } catch (err) {
            release();
            throw err;
          }
          const base = baseUrl(req, c.config.publicUrl);
          const sse = hub.openSse(req, reply, release);
          const send = (list: TrendingList) => sse.send('trending', render(list, limit, base), `${epoch}.${list.version}`);
          // A client reconnecting with the list it already has (same process, same version) is not sent it again.
          if (sse.lastEventId !== `${epoch}.${first.version}`) send(first);
          sse.onClose(service.subscribe(window, send));
        },
      );
    },
    async start() {
      // Commands on the store's client fail while it is not connected: let it connect first.
      if (storeRedis && storeRedis.status !== 'ready') {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 10_000);
          storeRedis.once('ready', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      if (redis) {
        // Other nodes' consumers announce their updates here.
        subscriber = redis.duplicate();
        subscriber.on('error', () => {});
        subscriber.on('message', (_ch: string, message: string) => {
          if (message.startsWith('[')) {
            try {
              service.forget((JSON.parse(message) as unknown[]).filter((x): x is string => typeof x === 'string'));
            } catch {
              // Not ours to understand: a rebuild still follows.
            }
          }
          service.changed();
        });
        await subscriber.subscribe(channel);
      } else {
        const n = await service.restore(CONSUMER);
        if (n) log.info({ events: n }, 'trending restored from the outbox');
      }
      service.start();
    },
    async stop() {
      await subscription.close();
      await service.stop();
      if (subscriber) await subscriber.quit().catch(() => subscriber?.disconnect());
      await store.close();
      if (storeRedis) await storeRedis.quit().catch(() => storeRedis.disconnect());
    },
  };
}
