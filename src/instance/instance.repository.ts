// The instance's settings, one row per key. No product rules here: see instance.service.
import type { Db } from '../infra/db/database.js';

export interface InstanceSettingTable {
  key: string;
  value: string;
  updated_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    instance_settings: InstanceSettingTable;
  }
}

export class InstanceRepository {
  constructor(private readonly db: Db) {}

  async all(): Promise<InstanceSettingTable[]> {
    return this.db.kysely.selectFrom('instance_settings').selectAll().execute();
  }

  /** Writes every pair in one transaction: a settings change is never half applied. */
  async put(values: Record<string, string>, nowIso: string): Promise<void> {
    const entries = Object.entries(values);
    if (entries.length === 0) return;
    await this.db.kysely.transaction().execute(async (trx) => {
      for (const [key, value] of entries) {
        await trx
          .insertInto('instance_settings')
          .values({ key, value, updated_at: nowIso })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: nowIso }))
          .execute();
      }
    });
  }
}
