// Builds the VOD services: queue adapter (embedded, or BullMQ with REDIS_URL), progress fan-out
// (memory, or Redis pub/sub) and the videos service. src/capabilities.ts calls it once and hands the
// same instances to every capability that needs videos (uploads, transcode, clips, channels, live
// recordings). The pipeline's job handler is registered by the transcode capability, which owns that work.
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
import { VideosService, type UploadCleaner, type VideoIndexer } from './videos.service.js';

export interface VodServices {
  videos: VideosService;
  queue: JobQueue;
  bus: ProgressBus;
  media: MediaToolkit;
  tokens: PlaybackTokens;
}

/** What the videos service calls out to, built before it by the composition root. */
export interface VodHooks {
  /** Removes a deleted video's unfinished uploads (the uploads capability's files). */
  removeUploads: UploadCleaner;
  /** Hears of each committed edit or hide (the feed's read model refreshes the video). */
  listingChanged?: (videoId: string) => Promise<void>;
}

export function createVodServices(c: Container, hooks: VodHooks): VodServices {
  const cfg = c.config;
  const logger = c.logger.child({ module: 'vod' });
  const jobs = new JobsRepository(c.db);
  const adapter: QueueAdapter = cfg.redisUrl
    ? new BullQueue(
        jobs,
        {
          redisUrl: cfg.redisUrl,
          prefix: cfg.queuePrefix,
          leaseSeconds: cfg.jobLeaseSeconds,
          backoffSeconds: cfg.jobBackoffSeconds,
          maxAttempts: cfg.jobAttempts,
        },
        logger,
      )
    : new EmbeddedQueue(jobs, { leaseSeconds: cfg.jobLeaseSeconds }, logger);
  const queue = new JobQueue(
    c.db,
    jobs,
    adapter,
    {
      maxAttempts: cfg.jobAttempts,
      leaseSeconds: cfg.jobLeaseSeconds,
      backoffSeconds: cfg.jobBackoffSeconds,
      concurrency: cfg.workerConcurrency,
    },
    logger,
  );
  const bus: ProgressBus = c.redis ? new RedisProgressBus(c.redis, cfg.queuePrefix, logger) : new MemoryProgressBus();
  const search = new SearchRepository(c.db);
  const indexer: VideoIndexer = {
    ownerName: async (ownerId) => (await c.accounts.usernames([ownerId])).get(ownerId) ?? '',
    index: (trx, v, ownerName) => search.put(trx, videoDocument(v, ownerName)),
    remove: (trx, id) => search.remove(trx, id),
  };
  const videos = new VideosService(
    c.db,
    new VideosRepository(c.db),
    c.storage,
    queue,
    bus,
    logger,
    {
      maxPerUser: cfg.uploadMaxPendingPerUser,
      withinSeconds: cfg.uploadExpirySeconds,
      lockOwner: (trx, ownerId) => c.accounts.lockUser(trx, ownerId),
    },
    indexer,
    hooks.removeUploads,
    hooks.listingChanged,
  );
  const tokens = new PlaybackTokens(c.db, cfg.playbackTokenTtlSeconds);
  const media = createMediaToolkit(cfg);
  return { videos, queue, bus, media, tokens };
}
