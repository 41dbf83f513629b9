// Builds the VOD services once per container: queue adapter (embedded, or BullMQ with REDIS_URL),
// progress fan-out (memory, or Redis pub/sub) and the videos service. The pipeline's job handler is
// registered by the transcode capability, which owns that work.
// Capabilities that need videos (uploads, transcode, live recordings) all get the same instances.
import type { Container } from '../container.js';
import { BullQueue } from '../infra/queue/bullmq.queue.js';
import { EmbeddedQueue } from '../infra/queue/embedded.queue.js';
import { JobQueue } from '../infra/queue/job.queue.js';
import { JobsRepository } from '../infra/queue/jobs.repository.js';
import type { QueueAdapter } from '../infra/queue/queue.js';
import { createMediaToolkit, type MediaToolkit } from '../media/index.js';
import { SearchRepository } from '../search/search.repository.js';
import { videoDocument } from '../search/search.documents.js';
import { PlaybackTokens } from './playback.tokens.js';
import { MemoryProgressBus, RedisProgressBus, type ProgressBus } from './progress.bus.js';
import { VideosRepository } from './videos.repository.js';
import { VideosService, type VideoIndexer } from './videos.service.js';

export interface VodServices {
  videos: VideosService;
  queue: JobQueue;
  bus: ProgressBus;
  media: MediaToolkit;
  tokens: PlaybackTokens;
}

const built = new WeakMap<Container, VodServices>();

export function vodServices(c: Container): VodServices {
  const existing = built.get(c);
  if (existing) return existing;
  const cfg = c.config;
  const logger = c.logger.child({ module: 'vod' });
  const jobs = new JobsRepository(c.db);
  const adapter: QueueAdapter = cfg.redisUrl
    ? new BullQueue(jobs, {
        redisUrl: cfg.redisUrl,
        prefix: cfg.queuePrefix,
        leaseSeconds: cfg.jobLeaseSeconds,
        backoffSeconds: cfg.jobBackoffSeconds,
        maxAttempts: cfg.jobAttempts,
      }, logger)
    : new EmbeddedQueue(jobs, { leaseSeconds: cfg.jobLeaseSeconds }, logger);
  const queue = new JobQueue(c.db, jobs, adapter, {
    maxAttempts: cfg.jobAttempts,
    leaseSeconds: cfg.jobLeaseSeconds,
    backoffSeconds: cfg.jobBackoffSeconds,
    concurrency: cfg.workerConcurrency,
  }, logger);
  const bus: ProgressBus = c.redis ? new RedisProgressBus(c.redis, cfg.queuePrefix, logger) : new MemoryProgressBus();
  const search = new SearchRepository(c.db);
  const indexer: VideoIndexer = {
    ownerName: async (ownerId) => (await c.accounts.usernames([ownerId])).get(ownerId) ?? '',
    index: (trx, v, ownerName) => search.put(trx, videoDocument(v, ownerName)),
    remove: (trx, id) => search.remove(trx, id),
  };
  const videos = new VideosService(c.db, new VideosRepository(c.db), c.storage, queue, bus, logger, {
    maxPerUser: cfg.uploadMaxPendingPerUser,
    withinSeconds: cfg.uploadExpirySeconds,
  }, indexer);
  const tokens = new PlaybackTokens(c.db, cfg.playbackTokenTtlSeconds);
  const media = createMediaToolkit(cfg);
  const services = { videos, queue, bus, media, tokens };
  built.set(c, services);
  return services;
}
