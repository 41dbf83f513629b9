// Webhook subscriptions, the persisted delivery queue and the attempt log. No product rules here:
// see webhooks.service (who sees what) and webhooks.dispatcher (when to retry).
import type { Transaction } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';
import type { Tables } from '../infra/db/schema.js';

export interface WebhookSubscriptionTable {
  id: string;
  user_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** Sealed (see webhooks.secrets), never the raw secret unless no key is configured. */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveryTable {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  /** The exact JSON body sent on every attempt. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  retry_until: string;
  claimed_by: string | null;
  claimed_until: string | null;
  last_status_code: number | null;
  last_error: string | null;
  redeliver_requested: number;
  created_at: string;
  completed_at: string | null;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  manual: number;
  started_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    webhook_subscriptions: WebhookSubscriptionTable;
    webhook_deliveries: WebhookDeliveryTable;
    webhook_attempts: WebhookAttemptTable;
  }
}

export type SubscriptionRow = WebhookSubscriptionTable;
export type DeliveryRow = WebhookDeliveryTable;
export type AttemptRow = WebhookAttemptTable;

export interface AttemptOutcome {
  attemptId: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  startedAt: string;
  ok: boolean;
  /** When to try again; null = give up (the retry window is over). Ignored when ok. */
  nextAttemptAt: string | null;
}

export class WebhooksRepository {
  constructor(private readonly db: Db) {}

  async insertSubscription(row: SubscriptionRow): Promise<void> {
    await this.db.kysely.insertInto('webhook_subscriptions').values(row).execute();
  }

  async countForUser(userId: string): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('webhook_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async listForUser(userId: string): Promise<SubscriptionRow[]> {
    return this.db.kysely.selectFrom('webhook_subscriptions').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
  }

  async find(id: string): Promise<SubscriptionRow | undefined> {
    return this.db.kysely.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findMany(ids: string[]): Promise<SubscriptionRow[]> {
    if (ids.length === 0) return [];
    return this.db.kysely.selectFrom('webhook_subscriptions').selectAll().where('id', 'in', ids).execute();
  }

  async forOwners(trx: Executor, userIds: string[]): Promise<SubscriptionRow[]> {
    if (userIds.length === 0) return [];
    return trx.selectFrom('webhook_subscriptions').selectAll().where('user_id', 'in', userIds).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('webhook_subscriptions').where('id', '=', id).execute();
  }

  async rotateSecret(id: string, secret: string, previous: string | null, previousExpiresAt: string | null, now: string): Promise<void> {
    await this.db.kysely.updateTable('webhook_subscriptions').set({ secret, previous_secret: previous, previous_secret_expires_at: previousExpiresAt, updated_at: now }).where('id', '=', id).execute();
  }

  /** Queues deliveries; one per (subscription, event) however often the event arrives. */
  async enqueue(trx: Transaction<Tables>, rows: DeliveryRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) {
      await trx
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
        .execute();
    }
  }

  /**
   * Claims due deliveries for one dispatcher until `leaseUntil`. SKIP LOCKED on Postgres lets the
   * dispatchers of several nodes take disjoint rows; on SQLite one statement is atomic.
   */
  async claimDue(workerId: string, limit: number, now: string, leaseUntil: string): Promise<DeliveryRow[]> {
    const pg = this.db.dialect === 'postgres';
    return this.db.kysely
      .updateTable('webhook_deliveries')
      .set({ claimed_by: workerId, claimed_until: leaseUntil })
      .where('id', 'in', (qb) =>
        qb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
          .orderBy('next_attempt_at')
          .limit(limit)
          .$if(pg, (q) => q.forUpdate().skipLocked()),
      )
      .returningAll()
      .execute();
  }

  /** The next time a pending, unclaimed delivery falls due (null when none is pending). */
  async nextDueAt(): Promise<string | null> {
    const r = await this.db.kysely
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return (r?.at as string | null | undefined) ?? null;
  }

  /** Logs one attempt and moves the delivery on, atomically. */
  async recordAttempt(workerId: string, d: DeliveryRow, o: AttemptOutcome): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      const attempt = d.attempts + 1;
      await trx
        .insertInto('webhook_attempts')
        .values({ id: o.attemptId, delivery_id: d.id, attempt, status_code: o.statusCode, error: o.error, duration_ms: o.durationMs, manual: d.redeliver_requested, started_at: o.startedAt })
        .execute();
      const done = new Date().toISOString();
      const status: DeliveryStatus = o.ok ? 'succeeded' : o.nextAttemptAt ? 'pending' : 'failed';
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempts: attempt,
          status,
          last_status_code: o.statusCode,
          last_error: o.error,
          next_attempt_at: status === 'pending' ? o.nextAttemptAt! : d.next_attempt_at,
          completed_at: status === 'pending' ? null : done,
          claimed_by: null,
          claimed_until: null,
          redeliver_requested: 0,
        })
        .where('id', '=', d.id)
        .where('claimed_by', '=', workerId)
        .execute();
    });
  }

  async findDelivery(subscriptionId: string, deliveryId: string): Promise<DeliveryRow | undefined> {
    return this.db.kysely.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).where('subscription_id', '=', subscriptionId).executeTakeFirst();
  }

  /** Newest first; `before` is the id (time-ordered v7) of the last delivery of the previous page. */
  async listDeliveries(subscriptionId: string, limit: number, before?: string): Promise<DeliveryRow[]> {
    return this.db.kysely
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .$if(before !== undefined, (q) => q.where('id', '<', before!))
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  async attemptsOf(deliveryIds: string[]): Promise<AttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    return this.db.kysely.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('delivery_id').orderBy('attempt').execute();
  }

  /**
   * Asks for one more attempt now. A delivery that is over (succeeded or gave up) gets exactly one
   * attempt: its retry window is closed at once, so a failure does not start a new series.
   */
  async requestRedelivery(d: DeliveryRow, now: string): Promise<void> {
    const finished = d.status !== 'pending';
    await this.db.kysely
      .updateTable('webhook_deliveries')
      .set({
        status: 'pending',
        next_attempt_at: now,
        completed_at: null,
        redeliver_requested: 1,
        ...(finished ? { retry_until: now } : {}),
      })
      .where('id', '=', d.id)
      .execute();
  }
}
