// Experiments, assignments and conversions in the database; aggregates for results.
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';

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

declare module '../infra/db/schema.js' {
  interface Tables {
    experiments: ExperimentTable;
    experiment_assignments: AssignmentTable;
    experiment_conversions: ConversionTable;
  }
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

  async update(key: string, patch: Partial<Pick<ExperimentTable, 'traffic_percent' | 'status' | 'stopped_at'>>): Promise<void> {
    await this.db.kysely.updateTable('experiments').set(patch).where('key', '=', key).execute();
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
