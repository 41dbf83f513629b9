// QoE tables: sessions with their running state, raw events, and the hourly aggregates that ingest
// adds to with upserts (so API nodes can add concurrently), read back by window.
import { sql, type Transaction } from 'kysely';
import type { Db } from '../infra/db/database.js';
import type { Tables } from '../infra/db/schema.js';

export interface QoeSessionTable {
  session_id: string;
  video_id: string | null;
  stream_id: string | null;
  user_id: string | null;
  started_at: string;
  updated_at: string;
  origin_ms: number;
  last_at_ms: number;
  state: string;
  height: number | null;
  bitrate: number | null;
  startup_ms: number | null;
  play_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
  level_switches: number;
  error_count: number;
  fatal: number;
  events: number;
  version: number;
}

export interface QoeEventTable {
  id: string;
  session_id: string;
  type: string;
  at_ms: number;
  data: string;
  received_at: string;
}

export interface QoeHourlyTable {
  target: string;
  hour: string;
  sessions: number;
  startups: number;
  play_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
  level_switches: number;
  error_sessions: number;
  bitrate_ms: number;
  bitrate_known_ms: number;
}

export interface QoeStartupHistTable {
  target: string;
  hour: string;
  bin: number;
  count: number;
}

export interface QoeRenditionTimeTable {
  target: string;
  hour: string;
  height: number;
  ms: number;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    qoe_sessions: QoeSessionTable;
    qoe_events: QoeEventTable;
    qoe_hourly: QoeHourlyTable;
    qoe_startup_hist: QoeStartupHistTable;
    qoe_rendition_time: QoeRenditionTimeTable;
  }
}

export type Trx = Transaction<Tables>;
export type HourlyCounters = Omit<QoeHourlyTable, 'target' | 'hour'>;

/** Per-user rows the experiments capability reads for guardrails. */
export interface UserSession {
  user_id: string;
  started_at: string;
  startup_ms: number | null;
  play_ms: number;
  rebuffer_ms: number;
  fatal: boolean;
}

const COUNTERS: Array<keyof HourlyCounters> = ['sessions', 'startups', 'play_ms', 'rebuffer_ms', 'rebuffer_count', 'level_switches', 'error_sessions', 'bitrate_ms', 'bitrate_known_ms'];

export class QoeRepository {
  constructor(readonly db: Db) {}

  transaction<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    return this.db.kysely.transaction().execute(fn);
  }

  async findSession(id: string, trx?: Trx): Promise<QoeSessionTable | undefined> {
    return (trx ?? this.db.kysely).selectFrom('qoe_sessions').selectAll().where('session_id', '=', id).executeTakeFirst();
  }

  async insertSession(trx: Trx, row: QoeSessionTable): Promise<void> {
    await trx.insertInto('qoe_sessions').values(row).execute();
  }

  /** Compare-and-set on version; false when another batch of the session got there first. */
  async updateSession(trx: Trx, row: QoeSessionTable, expectedVersion: number): Promise<boolean> {
    const { session_id, ...rest } = row;
    const res = await trx.updateTable('qoe_sessions').set(rest).where('session_id', '=', session_id).where('version', '=', expectedVersion).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertEvents(trx: Trx, rows: QoeEventTable[]): Promise<void> {
    if (rows.length) await trx.insertInto('qoe_events').values(rows).execute();
  }

  async addHourly(trx: Trx, target: string, hour: string, c: HourlyCounters): Promise<void> {
    const set = Object.fromEntries(COUNTERS.map((k) => [k, sql`${sql.ref(`qoe_hourly.${k}`)} + ${sql.ref(`excluded.${k}`)}`]));
    await trx
      .insertInto('qoe_hourly')
      .values({ target, hour, ...c })
      .onConflict((oc) => oc.columns(['target', 'hour']).doUpdateSet(set))
      .execute();
  }

  async addStartup(trx: Trx, target: string, hour: string, bin: number): Promise<void> {
    await trx
      .insertInto('qoe_startup_hist')
      .values({ target, hour, bin, count: 1 })
      .onConflict((oc) => oc.columns(['target', 'hour', 'bin']).doUpdateSet({ count: sql`qoe_startup_hist.count + 1` }))
      .execute();
  }

  async addRenditionTime(trx: Trx, target: string, hour: string, height: number, ms: number): Promise<void> {
    await trx
      .insertInto('qoe_rendition_time')
      .values({ target, hour, height, ms })
      .onConflict((oc) => oc.columns(['target', 'hour', 'height']).doUpdateSet({ ms: sql`qoe_rendition_time.ms + excluded.ms` }))
      .execute();
  }

  async hourly(target: string, from: string): Promise<QoeHourlyTable[]> {
    return this.db.kysely.selectFrom('qoe_hourly').selectAll().where('target', '=', target).where('hour', '>=', from).orderBy('hour').execute();
  }

  async startupHist(target: string, from: string): Promise<QoeStartupHistTable[]> {
    return this.db.kysely.selectFrom('qoe_startup_hist').selectAll().where('target', '=', target).where('hour', '>=', from).execute();
  }

  async renditionTime(target: string, from: string): Promise<QoeRenditionTimeTable[]> {
    return this.db.kysely.selectFrom('qoe_rendition_time').selectAll().where('target', '=', target).where('hour', '>=', from).execute();
  }

  /** Sessions of these users started at or after `since`, in chunks that stay within bind limits. */
  async sessionsOfUsers(userIds: string[], since: string): Promise<UserSession[]> {
    const out: UserSession[] = [];
    for (let i = 0; i < userIds.length; i += 500) {
      const rows = await this.db.kysely
        .selectFrom('qoe_sessions')
        .select(['user_id', 'started_at', 'startup_ms', 'play_ms', 'rebuffer_ms', 'fatal'])
        .where('user_id', 'in', userIds.slice(i, i + 500))
        .where('started_at', '>=', since)
        .execute();
      for (const r of rows)
        out.push({
          user_id: r.user_id!,
          started_at: r.started_at,
          startup_ms: r.startup_ms === null ? null : Number(r.startup_ms),
          play_ms: Number(r.play_ms),
          rebuffer_ms: Number(r.rebuffer_ms),
          fatal: Number(r.fatal) === 1,
        });
    }
    return out;
  }

  /** Removes raw events, finished sessions and aggregates older than `cutoff`; returns rows removed. */
  async prune(cutoff: string): Promise<number> {
    let n = 0;
    n += Number((await this.db.kysely.deleteFrom('qoe_events').where('received_at', '<', cutoff).executeTakeFirst()).numDeletedRows);
    n += Number((await this.db.kysely.deleteFrom('qoe_sessions').where('updated_at', '<', cutoff).executeTakeFirst()).numDeletedRows);
    n += Number((await this.db.kysely.deleteFrom('qoe_hourly').where('hour', '<', cutoff).executeTakeFirst()).numDeletedRows);
    n += Number((await this.db.kysely.deleteFrom('qoe_startup_hist').where('hour', '<', cutoff).executeTakeFirst()).numDeletedRows);
    n += Number((await this.db.kysely.deleteFrom('qoe_rendition_time').where('hour', '<', cutoff).executeTakeFirst()).numDeletedRows);
    return n;
  }
}
