// Keeps every API process serving the same versions: a reload made through one process is
// announced on Redis (when REDIS_URL is set) and repeated by the others, each validating the file
// itself. The model repository must then be a volume all API processes share.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import type { ModelService } from './models.service.js';

interface Announcement {
  origin: string;
  name: string;
  version?: number;
  path?: string;
}

export class ReloadBroadcast {
  private readonly origin = randomUUID();
  private readonly channel: string;
  private subscriber: Redis | null = null;

  constructor(private readonly redis: Redis, prefix: string, private readonly service: ModelService, private readonly logger: Logger) {
    this.channel = `${prefix}:models-reload`;
  }

  async start(): Promise<void> {
    const sub = this.redis.duplicate();
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let a: Announcement;
      try {
        a = JSON.parse(message) as Announcement;
      } catch {
        return;
      }
      if (a.origin === this.origin || typeof a.name !== 'string') return;
      void this.follow(a);
    });
    this.subscriber = sub;
    await sub.subscribe(this.channel);
  }

  private async follow(a: Announcement): Promise<void> {
    if (a.version !== undefined && this.service.version(a.name) === a.version) return;
    try {
      const info = await this.service.reload(a.name, a.path !== undefined ? { path: a.path } : { version: a.version });
      this.logger.info({ model: a.name, version: info.version }, 'model reloaded after another process did');
    } catch (err) {
      this.logger.error({ model: a.name, version: a.version, reason: err instanceof AppError ? err.detail : (err as Error).message }, 'could not follow a model reload made by another process');
    }
  }

  /** Tells the other processes; files in the repository go by version, others by path. */
  async announce(name: string, loaded: { version: number; file: string }): Promise<void> {
    const a: Announcement = this.service.repository.isInRepository(loaded.file) && loaded.file === this.service.repository.fileFor(name, loaded.version)
      ? { origin: this.origin, name, version: loaded.version }
      : { origin: this.origin, name, path: loaded.file };
    try {
      await this.redis.publish(this.channel, JSON.stringify(a));
    } catch (err) {
      this.logger.warn({ err, model: name }, 'could not announce a model reload to other processes');
    }
  }

  async stop(): Promise<void> {
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
    this.subscriber = null;
  }
}
