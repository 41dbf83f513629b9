// The composition root: picks one adapter per port from the validated config and wires the
// services. Nothing else decides between SQLite/Postgres, local/S3, memory/Redis.
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import type { EventBus } from './infra/bus/bus.js';
import { createEventBus } from './infra/bus/bus.factory.js';
import { TOPICS } from './events/events.types.js';
import { openDatabase, type Db } from './infra/db/database.js';
import { createLogger, type Logger } from './infra/logger.js';
import { LocalStorage } from './infra/storage/local.storage.js';
import { S3Storage } from './infra/storage/s3.storage.js';
import type { ObjectStorage } from './infra/storage/storage.js';
import { createMetricsRegistry } from './http/metrics.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './shared/rate-limiter.js';
import { AccountsRepository } from './accounts/accounts.repository.js';
import { AccountsService } from './accounts/accounts.service.js';
import { createPasswordHasher } from './accounts/passwords.js';
import { SessionCache } from './accounts/sessions.cache.js';
import { LocalSessionRevocations, RedisSessionRevocations } from './accounts/sessions.revocations.js';
import { InstanceRepository } from './instance/instance.repository.js';
import { InstanceService } from './instance/instance.service.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface Container {
  config: Config;
  logger: Logger;
  db: Db;
  storage: ObjectStorage;
  /** A shared Redis connection when REDIS_URL is set. Subscribers must `duplicate()` it. */
  redis: Redis | null;
  limiter: RateLimiter;
  /** The event bus (in-process, or Kafka with KAFKA_BROKERS): the outbox relay publishes to it, consumers subscribe to it. */
  bus: EventBus;
  metrics: Registry;
  readiness: ReadinessCheck[];
  accounts: AccountsService;
  /** The instance's name, description and registration mode (admin settings). */
  instance: InstanceService;
  /** Run in reverse order on shutdown. */
  closers: Array<() => Promise<void>>;
}

export function createRedis(url: string, name: string): Redis {
  const r = new Redis(url, { connectionName: name, maxRetriesPerRequest: null, lazyConnect: false });
  // ioredis reconnects by itself; an unhandled 'error' event would crash the process.
  r.on('error', () => {});
  return r;
}

export function createContainer(config: Config, logger: Logger = createLogger(config.logLevel)): Container {
  const db = openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  const storage: ObjectStorage = config.s3 ? new S3Storage(config.s3) : new LocalStorage(path.join(config.dataDir, 'objects'));
  const redis = config.redisUrl ? createRedis(config.redisUrl, 'nova') : null;
  // The limiter has a connection of its own whose commands fail fast: while Redis is away it
  // counts in memory rather than holding up logins and reports.
  const limiterRedis = redis?.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000 });
  limiterRedis?.on('error', () => {});
  const limiter = limiterRedis ? new RedisRateLimiter(limiterRedis, logger) : new MemoryRateLimiter();
  const readiness: ReadinessCheck[] = [
    { name: 'database', check: () => db.ping() },
    { name: 'storage', check: () => storage.ping() },
  ];
  if (redis) readiness.push({ name: 'redis', check: async () => void (await redis.ping()) });
  const instance = new InstanceService(new InstanceRepository(db));
  // Bearer-token lookups cached per node; with Redis, revocations reach the other nodes' caches.
  const sessionCache = new SessionCache(config.sessionCacheSeconds * 1000);
  const revocations = redis ? new RedisSessionRevocations(sessionCache, redis, config.queuePrefix, logger) : new LocalSessionRevocations(sessionCache);
  const accounts = new AccountsService(
    new AccountsRepository(db),
    limiter,
    {
      admin: config.admin,
      tokenTtlSeconds: config.tokenTtlSeconds,
      loginMaxAttempts: config.loginMaxAttempts,
      loginWindowSeconds: config.loginWindowSeconds,
      registerMaxPerAddress: config.registerMaxPerAddress,
      registerWindowSeconds: config.registerWindowSeconds,
      registrationMode: () => instance.registrationMode(),
    },
    createPasswordHasher(config.http.passwordScryptLogN),
    { cache: sessionCache, revocations },
  );
  const closers: Array<() => Promise<void>> = [() => db.close(), () => revocations.close()];
  const bus = createEventBus(config, logger, TOPICS);
  closers.push(() => bus.close());
  if (limiter instanceof RedisRateLimiter) closers.push(() => limiter.close());
  if (redis) closers.push(async () => void (await redis.quit().catch(() => redis.disconnect())));
  return { config, logger, db, storage, redis, limiter, bus, metrics: createMetricsRegistry(), readiness, accounts, instance, closers };
}
