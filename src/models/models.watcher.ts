// Optional directory watch (MODELS_WATCH_INTERVAL_MS): polls MODELS_DIR and reloads a model when a
// higher version appears, or loads a new model directory. Polling rather than fs.watch, which is
// unreliable for nested directories and network file systems. A version that failed validation is
// not retried until its file changes.
import fs from 'node:fs/promises';
import type { Logger } from '../infra/logger.js';
import { AppError } from '../http/errors.js';
import type { ModelService } from './models.service.js';

export class ModelWatcher {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly failed = new Map<string, number>();

  constructor(private readonly service: ModelService, private readonly intervalMs: number, private readonly logger: Logger) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.service.ready();
      const repo = this.service.repository;
      for (const [name, versions] of await repo.scan()) {
        const newest = versions.at(-1)!;
        const serving = this.service.version(name);
        if (serving !== undefined && serving >= newest) continue;
        const key = `${name}@${newest}`;
        const mtime = (await fs.stat(repo.fileFor(name, newest)).catch(() => null))?.mtimeMs ?? 0;
        if (this.failed.get(key) === mtime) continue;
        try {
          await this.service.reload(name, { version: newest });
          this.failed.delete(key);
          this.logger.info({ model: name, version: newest }, 'new model version picked up from MODELS_DIR');
        } catch (err) {
          this.failed.set(key, mtime);
          this.logger.warn({ model: name, version: newest, reason: err instanceof AppError ? err.detail : (err as Error).message }, 'new model version refused');
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'model directory scan failed');
    } finally {
      this.running = false;
    }
  }
}
