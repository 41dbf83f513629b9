// Sends queued webhook deliveries: claims due rows from the database (so the queue survives
// restarts and is shared by every node), runs up to `concurrency` attempts at once, logs each
// attempt, and schedules retries with exponential backoff (doubling from retryBaseMs, capped at
// retryMaxIntervalSeconds, ±10 % jitter) until the retry window (default 3 days) is over.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import type { WebhooksConfig } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { DeliveryRow, SubscriptionRow, WebhooksRepository } from './webhooks.repository.js';
import type { SecretBox } from './webhooks.secrets.js';
import { sendWebhook } from './webhooks.sender.js';
import type { TargetPolicy } from './webhooks.target.js';

const IDLE_POLL_MS = 1000;

/** Delay before attempt n+1 after n failed attempts. */
export function retryDelayMs(failedAttempts: number, cfg: Pick<WebhooksConfig, 'retryBaseMs' | 'retryMaxIntervalSeconds'>, retryAfterSeconds: number | null = null): number {
  const exp = cfg.retryBaseMs * 2 ** Math.min(failedAttempts - 1, 40);
  const capped = Math.min(exp, cfg.retryMaxIntervalSeconds * 1000);
  const jittered = capped * (0.9 + Math.random() * 0.2);
  return retryAfterSeconds === null ? jittered : Math.min(Math.max(jittered, retryAfterSeconds * 1000), cfg.retryMaxIntervalSeconds * 1000);
}

export class WebhookDispatcher {
  private readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly inflight = new Set<Promise<void>>();
  private running = false;
  private loopDone: Promise<void> | null = null;
  private nudged = false;
  private wakeUp: (() => void) | null = null;
  private readonly results: Counter<'result'>;

  constructor(
    private readonly repo: WebhooksRepository,
    private readonly secrets: SecretBox,
    private readonly policy: TargetPolicy,
    private readonly cfg: WebhooksConfig,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.results = new Counter({ name: 'nova_webhook_deliveries_total', help: 'Webhook delivery attempts by result (success, failure).', labelNames: ['result'], registers: [metrics] });
  }

  readonly nudge = (): void => {
    this.nudged = true;
    this.wakeUp?.();
  };

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    await this.loopDone;
    await Promise.allSettled([...this.inflight]);
  }

  private pause(ms: number): Promise<void> {
    if (!this.running || this.nudged) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.wakeUp = () => {
        this.wakeUp = null;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.nudged = false;
      const free = this.cfg.concurrency - this.inflight.size;
      let wait = IDLE_POLL_MS;
      if (free > 0) {
        try {
          const now = Date.now();
          const lease = new Date(now + this.cfg.timeoutMs * 2 + 30_000).toISOString();
          const due = await this.repo.claimDue(this.workerId, free, new Date(now).toISOString(), lease);
          if (due.length) await this.launch(due);
          if (due.length === free) continue;
          const next = await this.repo.nextDueAt();
          if (next) wait = Math.min(IDLE_POLL_MS, Math.max(5, Date.parse(next) - Date.now()));
        } catch (err) {
          this.logger.warn({ err }, 'webhook dispatcher could not read its queue; retrying');
        }
      }
      await this.pause(wait);
    }
  }

  private async launch(due: DeliveryRow[]): Promise<void> {
    const subs = new Map((await this.repo.findMany([...new Set(due.map((d) => d.subscription_id))])).map((s) => [s.id, s]));
    for (const d of due) {
      const sub = subs.get(d.subscription_id);
      if (!sub) continue; // deleted meanwhile; its deliveries went with it
      const task = this.attempt(d, sub)
        .catch((err) => this.logger.warn({ err, deliveryId: d.id }, 'recording a webhook attempt failed'))
        .finally(() => {
          this.inflight.delete(task);
          this.nudge();
        });
      this.inflight.add(task);
    }
  }

  private async attempt(d: DeliveryRow, sub: SubscriptionRow): Promise<void> {
    const startedAt = new Date().toISOString();
    const secrets = [this.secrets.open(sub.secret)];
    if (sub.previous_secret && sub.previous_secret_expires_at && sub.previous_secret_expires_at > startedAt) secrets.push(this.secrets.open(sub.previous_secret));
    const r = await sendWebhook({ url: sub.url, body: d.body, secrets, eventId: d.event_id, eventType: d.event_type, deliveryId: d.id, timeoutMs: this.cfg.timeoutMs }, this.policy);
    this.results.inc({ result: r.ok ? 'success' : 'failure' });
    let nextAttemptAt: string | null = null;
    if (!r.ok) {
      const at = Date.now() + retryDelayMs(d.attempts + 1, this.cfg, r.retryAfterSeconds);
      nextAttemptAt = at <= Date.parse(d.retry_until) ? new Date(at).toISOString() : null;
      this.logger.debug({ deliveryId: d.id, subscriptionId: sub.id, status: r.statusCode, error: r.error, nextAttemptAt }, 'webhook attempt failed');
      if (!nextAttemptAt) this.logger.info({ deliveryId: d.id, subscriptionId: sub.id, attempts: d.attempts + 1 }, 'webhook delivery gave up after its retry window');
    }
    await this.repo.recordAttempt(this.workerId, d, {
      attemptId: uuidv7(),
      statusCode: r.statusCode,
      error: r.error,
      durationMs: r.durationMs,
      startedAt,
      ok: r.ok,
      nextAttemptAt,
    });
  }
}
