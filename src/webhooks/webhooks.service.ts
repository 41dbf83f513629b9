// Webhooks: per-user subscriptions, turning bus events into queued deliveries for the owners who
// may see them, the delivery log, manual redelivery and secret rotation. Deliveries themselves
// are sent by WebhookDispatcher.
import type { Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AuthUser } from '../accounts/accounts.service.js';
import type { WebhooksConfig } from '../config.js';
import type { EventEnvelope, EventMap } from '../events/events.types.js';
import { ENVELOPE_FIELDS } from '../events/events.types.js';
import { latestEvent } from '../events/events.queries.js';
import type { Tables } from '../infra/db/schema.js';
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from '../http/errors.js';
import type { AttemptRow, DeliveryRow, DeliveryStatus, SubscriptionRow, WebhooksRepository } from './webhooks.repository.js';
import { newSigningSecret, type SecretBox } from './webhooks.secrets.js';
import { TargetRefusedError, type TargetPolicy } from './webhooks.target.js';

/** Event types a subscription may ask for: the ones that belong to one owner's video or stream. */
export const WEBHOOK_EVENTS = [
  'video.upload.completed',
  'video.uploaded',
  'video.progress',
  'video.ready',
  'video.failed',
  'video.deleted',
  'stream.started',
  'stream.ended',
] as const satisfies ReadonlyArray<keyof EventMap>;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

const WEBHOOK_EVENT_SET = new Set<string>(WEBHOOK_EVENTS);

export interface SubscriptionView {
  id: string;
  url: string;
  events: string[];
  created_at: string;
  updated_at: string;
  previous_secret_expires_at: string | null;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  completed_at: string | null;
  attempts: Array<{ attempt: number; status_code: number | null; error: string | null; duration_ms: number; manual: boolean; started_at: string }>;
}

export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly secrets: SecretBox,
    private readonly policy: TargetPolicy,
    private readonly config: WebhooksConfig,
  ) {}

  private view(s: SubscriptionRow): SubscriptionView {
    const expires = s.previous_secret_expires_at && s.previous_secret_expires_at > new Date().toISOString() ? s.previous_secret_expires_at : null;
    return { id: s.id, url: s.url, events: JSON.parse(s.events) as string[], created_at: s.created_at, updated_at: s.updated_at, previous_secret_expires_at: expires };
  }

  async create(user: AuthUser, url: string, events: string[]): Promise<SubscriptionView & { secret: string }> {
    try {
      await this.policy.check(url);
    } catch (err) {
      if (err instanceof TargetRefusedError) throw new UnprocessableError(`The webhook URL ${err.message}.`, [{ field: 'url', message: err.message }]);
      throw err;
    }
    if ((await this.repo.countForUser(user.id)) >= this.config.maxPerUser) {
      throw new ConflictError(`You already have ${this.config.maxPerUser} webhooks, the most allowed; delete one first.`);
    }
    const secret = newSigningSecret();
    const now = new Date().toISOString();
    const row: SubscriptionRow = {
      id: uuidv7(),
      user_id: user.id,
      url,
      events: JSON.stringify([...new Set(events)]),
      secret: this.secrets.seal(secret),
      previous_secret: null,
      previous_secret_expires_at: null,
      created_at: now,
      updated_at: now,
    };
    await this.repo.insertSubscription(row);
    return { ...this.view(row), secret };
  }

  async list(user: AuthUser): Promise<SubscriptionView[]> {
    return (await this.repo.listForUser(user.id)).map((s) => this.view(s));
  }

  /** The subscription when `user` owns it (or is an admin); 404 when it does not exist. */
  private async owned(user: AuthUser, id: string): Promise<SubscriptionRow> {
    const s = await this.repo.find(id);
    if (!s) throw new NotFoundError(`No webhook ${id}.`);
    if (s.user_id !== user.id && user.role !== 'admin') throw new ForbiddenError('Only the owner of this webhook or an admin can do this.');
    return s;
  }

  async get(user: AuthUser, id: string): Promise<SubscriptionView> {
    return this.view(await this.owned(user, id));
  }

  async delete(user: AuthUser, id: string): Promise<void> {
    await this.owned(user, id);
    await this.repo.delete(id);
  }

  /**
   * A new signing secret. With graceSeconds > 0 the old one keeps signing too (a second v1 in
   * Nova-Signature) until then, so receivers can switch without missing a delivery.
   */
  async rotateSecret(user: AuthUser, id: string, graceSeconds: number): Promise<{ id: string; secret: string; previous_secret_expires_at: string | null }> {
    const s = await this.owned(user, id);
    const secret = newSigningSecret();
    const now = new Date();
    const expires = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000).toISOString() : null;
    await this.repo.rotateSecret(id, this.secrets.seal(secret), expires ? s.secret : null, expires, now.toISOString());
    return { id, secret, previous_secret_expires_at: expires };
  }

  async deliveries(user: AuthUser, id: string, limit: number, cursor?: string): Promise<{ items: DeliveryView[]; next_cursor: string | null }> {
    await this.owned(user, id);
    const rows = await this.repo.listDeliveries(id, limit + 1, cursor);
    const page = rows.slice(0, limit);
    const attempts = await this.repo.attemptsOf(page.map((d) => d.id));
    const byDelivery = new Map<string, AttemptRow[]>();
    for (const a of attempts) {
      let list = byDelivery.get(a.delivery_id);
      if (!list) byDelivery.set(a.delivery_id, (list = []));
      list.push(a);
    }
    return {
      items: page.map((d) => this.deliveryView(d, byDelivery.get(d.id) ?? [])),
      next_cursor: rows.length > limit ? page[page.length - 1].id : null,
    };
  }

  async redeliver(user: AuthUser, id: string, deliveryId: string): Promise<DeliveryView> {
    await this.owned(user, id);
    const d = await this.repo.findDelivery(id, deliveryId);
    if (!d) throw new NotFoundError(`No delivery ${deliveryId} for webhook ${id}.`);
    const now = new Date().toISOString();
    await this.repo.requestRedelivery(d, now);
    const fresh = (await this.repo.findDelivery(id, deliveryId))!;
    return this.deliveryView(fresh, await this.repo.attemptsOf([deliveryId]));
  }

  private deliveryView(d: DeliveryRow, attempts: AttemptRow[]): DeliveryView {
    return {
      id: d.id,
      event_id: d.event_id,
      event_type: d.event_type,
      status: d.status,
      attempt_count: d.attempts,
      last_status_code: d.last_status_code,
      last_error: d.last_error,
      next_attempt_at: d.status === 'pending' ? d.next_attempt_at : null,
      created_at: d.created_at,
      completed_at: d.completed_at,
      attempts: attempts.map((a) => ({ attempt: a.attempt, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms, manual: a.manual === 1, started_at: a.started_at })),
    };
  }

  /**
   * Bus events → queued deliveries, inside the consumer's transaction. An event goes only to
   * subscriptions of the user who owns its video or stream, that ask for its type, and that
   * existed when it happened (a replayed log does not reach subscriptions made later).
   */
  async enqueueFor(trx: Transaction<Tables>, events: EventEnvelope[]): Promise<number> {
    const owned: Array<{ event: EventEnvelope; owner: string }> = [];
    for (const event of events) {
      if (!WEBHOOK_EVENT_SET.has(event.event_type)) continue;
      const owner = await this.ownerOf(trx, event);
      if (owner) owned.push({ event, owner });
    }
    if (owned.length === 0) return 0;
    const subs = await this.repo.forOwners(trx, [...new Set(owned.map((o) => o.owner))]);
    if (subs.length === 0) return 0;
    const now = new Date();
    const nowIso = now.toISOString();
    const retryUntil = new Date(now.getTime() + this.config.retryWindowSeconds * 1000).toISOString();
    const rows: DeliveryRow[] = [];
    for (const { event, owner } of owned) {
      for (const s of subs) {
        if (s.user_id !== owner || s.created_at > event.occurred_at) continue;
        if (!(JSON.parse(s.events) as string[]).includes(event.event_type)) continue;
        rows.push({
          id: uuidv7(),
          subscription_id: s.id,
          event_id: event.event_id,
          event_type: event.event_type,
          body: JSON.stringify({ id: event.event_id, type: event.event_type, created_at: event.occurred_at, data: dataOf(event) }),
          status: 'pending',
          attempts: 0,
          next_attempt_at: nowIso,
          retry_until: retryUntil,
          claimed_by: null,
          claimed_until: null,
          last_status_code: null,
          last_error: null,
          redeliver_requested: 0,
          created_at: nowIso,
          completed_at: null,
        });
      }
    }
    await this.repo.enqueue(trx, rows);
    return rows.length;
  }

  private async ownerOf(trx: Transaction<Tables>, event: EventEnvelope): Promise<string | null> {
    const e = event as unknown as Record<string, unknown>;
    if (typeof e.owner_id === 'string') return e.owner_id;
    if (typeof e.creator_id === 'string') return e.creator_id;
    if (event.event_type === 'stream.ended' && typeof e.stream_id === 'string') {
      // Older stream.ended events lack creator_id: the stream's stream.started event names it.
      const started = await latestEvent(trx, 'stream.started', e.stream_id);
      return typeof started?.creator_id === 'string' ? started.creator_id : null;
    }
    return null;
  }
}

/** The payload without the envelope's own fields: the `data` of a delivery. */
function dataOf(event: EventEnvelope): Record<string, unknown> {
  const data: Record<string, unknown> = { ...(event as unknown as Record<string, unknown>) };
  for (const f of ENVELOPE_FIELDS) delete data[f];
  return data;
}
