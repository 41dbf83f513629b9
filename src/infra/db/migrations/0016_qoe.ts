// Playback quality (QoE): player sessions with their running totals, raw events kept for the
// retention, and hourly aggregates per video, stream and instance (counters, a log-spaced startup
// histogram, time per rendition) that ingest adds to. Experiments gain guardrails, auto-stop with
// its reason, and the per-user daily metric history that CUPED reads its pre-period from.
import type { AnyDb, MigrationFactory } from './types.js';
import { columnTypes } from './types.js';

export const qoe: MigrationFactory = (dialect) => {
  const t = columnTypes(dialect);
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('qoe_sessions')
        .addColumn('session_id', 'text', (c) => c.primaryKey())
        .addColumn('video_id', 'text')
        .addColumn('stream_id', 'text')
        .addColumn('user_id', 'text')
        .addColumn('started_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('origin_ms', t.double, (c) => c.notNull())
        .addColumn('last_at_ms', t.double, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('height', 'integer')
        .addColumn('bitrate', t.double)
        .addColumn('startup_ms', t.double)
        .addColumn('play_ms', t.double, (c) => c.notNull())
        .addColumn('rebuffer_ms', t.double, (c) => c.notNull())
        .addColumn('rebuffer_count', 'integer', (c) => c.notNull())
        .addColumn('level_switches', 'integer', (c) => c.notNull())
        .addColumn('error_count', 'integer', (c) => c.notNull())
        .addColumn('fatal', 'integer', (c) => c.notNull())
        .addColumn('events', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('qoe_sessions_user_idx').on('qoe_sessions').columns(['user_id', 'started_at']).execute();
      await db.schema.createIndex('qoe_sessions_updated_idx').on('qoe_sessions').column('updated_at').execute();

      await db.schema
        .createTable('qoe_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('at_ms', t.double, (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('received_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('qoe_events_received_idx').on('qoe_events').column('received_at').execute();
      await db.schema.createIndex('qoe_events_session_idx').on('qoe_events').column('session_id').execute();

      // target: "v:<video id>", "s:<stream id>" or "*" (the whole instance).
      await db.schema
        .createTable('qoe_hourly')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('hour', t.timestamp, (c) => c.notNull())
        .addColumn('sessions', 'integer', (c) => c.notNull())
        .addColumn('startups', 'integer', (c) => c.notNull())
        .addColumn('play_ms', t.double, (c) => c.notNull())
        .addColumn('rebuffer_ms', t.double, (c) => c.notNull())
        .addColumn('rebuffer_count', 'integer', (c) => c.notNull())
        .addColumn('level_switches', 'integer', (c) => c.notNull())
        .addColumn('error_sessions', 'integer', (c) => c.notNull())
        .addColumn('bitrate_ms', t.double, (c) => c.notNull())
        .addColumn('bitrate_known_ms', t.double, (c) => c.notNull())
        .addPrimaryKeyConstraint('qoe_hourly_pk', ['target', 'hour'])
        .execute();
      await db.schema.createIndex('qoe_hourly_hour_idx').on('qoe_hourly').column('hour').execute();
      await db.schema
        .createTable('qoe_startup_hist')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('hour', t.timestamp, (c) => c.notNull())
        .addColumn('bin', 'integer', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('qoe_startup_hist_pk', ['target', 'hour', 'bin'])
        .execute();
      await db.schema
        .createTable('qoe_rendition_time')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('hour', t.timestamp, (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('ms', t.double, (c) => c.notNull())
        .addPrimaryKeyConstraint('qoe_rendition_time_pk', ['target', 'hour', 'height'])
        .execute();

      await db.schema.alterTable('experiments').addColumn('guardrails', 'text').execute();
      await db.schema
        .alterTable('experiments')
        .addColumn('auto_stop', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('experiments').addColumn('stop_reason', 'text').execute();
      await db.schema
        .createTable('experiment_metric_days')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('total', t.double, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_metric_days_pk', ['user_id', 'metric', 'day'])
        .execute();
      await db.schema.createIndex('experiment_metric_days_day_idx').on('experiment_metric_days').column('day').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('experiment_metric_days').execute();
      await db.schema.alterTable('experiments').dropColumn('stop_reason').execute();
      await db.schema.alterTable('experiments').dropColumn('auto_stop').execute();
      await db.schema.alterTable('experiments').dropColumn('guardrails').execute();
      for (const table of ['qoe_rendition_time', 'qoe_startup_hist', 'qoe_hourly', 'qoe_events', 'qoe_sessions']) await db.schema.dropTable(table).execute();
    },
  };
};
