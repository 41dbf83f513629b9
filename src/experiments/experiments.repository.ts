// Experiments, assignments and conversions in the database; aggregates for results.
import { sql } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';
import { appendEvent } from '../events/outbox.repository.js';
import type { EventMap } from '../events/events.types.js';

export interface ExperimentTable {
  key: string;
  description: string | null;
  /** JSON: [{key, weight}] */
  variants: string;
  traffic_percent: number;
  metric: string;
  metric_type: string;
  status: string;
  created_by: string;
  created_at: string;
  stopped_at: string | null;
  /** JSON: [{metric, max_regression}], or null. */
  guardrails: string | null;
  auto_stop: number;
  /** Why it stopped, when a guardrail stopped it. */
  stop_reason: string | null;
}

export interface AssignmentTable {
  experiment_key: string;
  user_id: string;
  variant: string;
  assigned_at: string;
}

export interface ConversionTable {
  id: string;
  experiment_key: string;
  user_id: string;
  variant: string;
  metric: string;
  value: number;
  created_at: string;
}

/** Per user, metric and UTC day: what they recorded, in or out of an experiment (CUPED's pre-period). */
export interface MetricDayTable {
  user_id: string;
  metric: string;
  day: string;
  total: number;
  count: number;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    experiment_metric_days: MetricDayTable;
    experiments: ExperimentTable;
    experiment_assignments: AssignmentTable;
    experiment_conversions: ConversionTable;
  }
}

/** Adds a recorded value to the user's day for the metric (in the caller's transaction, when given one). */
export async function addMetricDay(db: Executor, userId: string, metric: string, at: string, value: number): Promise<void> {
  await db
    .insertInto('experiment_metric_days')
    .values({ user_id: userId, metric, day: at.slice(0, 10), total: value, count: 1 })
    .onConflict((oc) => oc.columns(['user_id', 'metric', 'day']).doUpdateSet({ total: sql`experiment_metric_days.total + excluded.total`, count: sql`experiment_metric_days.count + 1` }))
    .execute();
}

export class ExperimentsRepository {
  constructor(private readonly db: Db) {}

  async insert(e: ExperimentTable): Promise<void> {
    await this.db.kysely.insertInto('experiments').values(e).execute();
  }

  async find(key: string): Promise<ExperimentTable | undefined> {
    return this.db.kysely.selectFrom('experiments').selectAll().where('key', '=', key).executeTakeFirst();
  }

  async list(): Promise<ExperimentTable[]> {
    return this.db.kysely.selectFrom('experiments').selectAll().orderBy('created_at', 'desc').execute();
  }

  async update(key: string, patch: Partial<Pick<ExperimentTable, 'traffic_percent' | 'status' | 'stopped_at' | 'stop_reason'>>): Promise<void> {
    await this.db.kysely.updateTable('experiments').set(patch).where('key', '=', key).execute();
  }

  /**
   * Stops a running experiment and records the event in the same transaction; false when it was
   * not running (another node stopped it first).
   */
  async stopWithEvent(key: string, reason: string, at: string, payload: EventMap['experiment.stopped']): Promise<boolean> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const res = await trx.updateTable('experiments').set({ status: 'stopped', stopped_at: at, stop_reason: reason }).where('key', '=', key).where('status', '=', 'running').executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await appendEvent(trx, 'experiment.stopped', key, payload);
      return true;
    });
  }

  async assignments(key: string): Promise<AssignmentTable[]> {
    return this.db.kysely.selectFrom('experiment_assignments').selectAll().where('experiment_key', '=', key).execute();
  }

  /** Adds a recorded value to the user's day for the metric. */
  async addMetricDay(userId: string, metric: string, at: string, value: number): Promise<void> {
    await addMetricDay(this.db.kysely, userId, metric, at, value);
  }

  /** Metric days of the experiment's users from `fromDay` on (the caller keeps each user's pre-period). */
  async metricDaysOfUsers(key: string, metric: string, fromDay: string): Promise<Array<{ user_id: string; day: string; total: number; count: number }>> {
    const rows = await this.db.kysely
      .selectFrom('experiment_metric_days as m')
      .innerJoin('experiment_assignments as a', 'a.user_id', 'm.user_id')
      .select(['m.user_id', 'm.day', 'm.total', 'm.count'])
      .where('a.experiment_key', '=', key)
      .where('m.metric', '=', metric)
      .where('m.day', '>=', fromDay)
      .execute();
    return rows.map((r) => ({ user_id: r.user_id, day: r.day, total: Number(r.total), count: Number(r.count) }));
  }

  async findAssignment(key: string, userId: string): Promise<AssignmentTable | undefined> {
    return this.db.kysely.selectFrom('experiment_assignments').selectAll().where('experiment_key', '=', key).where('user_id', '=', userId).executeTakeFirst();
  }

  /** Inserts the assignment unless one exists; returns the stored one (first writer wins). */
  async assign(a: AssignmentTable): Promise<{ row: AssignmentTable; created: boolean }> {
    const res = await this.db.kysely
      .insertInto('experiment_assignments')
      .values(a)
      .onConflict((oc) => oc.columns(['experiment_key', 'user_id']).doNothing())
      .executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    if (created) return { row: a, created };
    return { row: (await this.findAssignment(a.experiment_key, a.user_id))!, created };
  }

  async insertConversion(c: ConversionTable): Promise<void> {
    await this.db.kysely.insertInto('experiment_conversions').values(c).execute();
  }

  async usersPerVariant(key: string): Promise<Map<string, number>> {
    const rows = await this.db.kysely
      .selectFrom('experiment_assignments')
      .select(['variant', sql<number>`count(*)`.as('n')])
      .where('experiment_key', '=', key)
      .groupBy('variant')
      .execute();
    return new Map(rows.map((r) => [r.variant, Number(r.n)]));
  }

  async countUserConversions(key: string, userId: string): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('experiment_conversions')
      .select(sql<number>`count(*)`.as('n'))
      .where('experiment_key', '=', key)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Per converting user: their summed value for the metric, grouped by variant. Each stored value
   * counts as at most `bound` in magnitude, so rows written before values were bounded cannot make
   * the sum overflow (Postgres raises on float overflow; SQLite returns Infinity).
   */
  async valuesPerUser(key: string, metric: string, bound: number): Promise<Array<{ variant: string; user_id: string; total: number }>> {
    const b = sql.lit(bound);
    const nb = sql.lit(-bound);
    const rows = await this.db.kysely
      .selectFrom('experiment_conversions')
      .select(['variant', 'user_id', sql<number>`sum(case when value > ${b} then ${b} when value < ${nb} then ${nb} else value end)`.as('total')])
      .where('experiment_key', '=', key)
      .where('metric', '=', metric)
      .groupBy(['variant', 'user_id'])
      .execute();
    return rows.map((r) => ({ variant: r.variant, user_id: r.user_id, total: Number(r.total) }));
  }
}
