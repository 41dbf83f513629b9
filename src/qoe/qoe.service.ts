// Playback quality: ingests players' event batches (bounded per address and per session, all or
// nothing), keeps each session's running state, adds each batch's delta to hourly aggregates per
// video or stream and for the instance, answers windowed summaries from those aggregates, serves
// guardrail reads for experiments, and prunes what is older than the retention.
import { v7 as uuidv7 } from 'uuid';
import type { AuthUser } from '../accounts/accounts.service.js';
import type { QoeConfig } from '../config.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { ConflictError, NotFoundError, RateLimitedError, ValidationError } from '../http/errors.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import { QoeRepository, type HourlyCounters, type QoeSessionTable, type UserSession } from './qoe.repository.js';
import { applyEvents, histogramQuantile, startupBin, type PlaybackEvent, type SessionState, type SessionStateName } from './qoe.timeline.js';

export interface EventBatchInput {
  session_id: string;
  video_id?: string;
  stream_id?: string;
  events: PlaybackEvent[];
}

/** Who may play what: the videos and live capabilities answer, QoE only asks. */
export interface QoeTargets {
  /** The video's owner when the caller may see it, else null. */
  videoOwner(id: string, user: AuthUser | null): Promise<string | null>;
  streamOwner(id: string): Promise<string | null>;
}

export type QoeWindow = '1h' | '24h' | '7d' | '30d';
const WINDOW_HOURS: Record<QoeWindow, number> = { '1h': 1, '24h': 24, '7d': 168, '30d': 720 };

/** A client clock may run ahead of the server's view of the session by this much. */
const CLOCK_TOLERANCE_MS = 120_000;
const CAS_ATTEMPTS = 8;

export interface QoeFields {
  sessions: number;
  startup_ms: { p50: number | null; p95: number | null };
  rebuffer_ratio: number;
  rebuffers_per_hour: number;
  error_sessions_ratio: number;
  avg_bitrate_kbps: number | null;
  renditions: Array<{ height: number; share_of_time: number }>;
  rebuffers: number;
  level_switches: number;
  viewing_seconds: number;
  rebuffer_seconds: number;
}

export interface QoeSummary extends QoeFields {
  window: string;
  from: string;
  hours?: Array<QoeFields & { start: string }>;
  days?: Array<QoeFields & { start: string }>;
}

function hourOf(ms: number): string {
  return new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
}

const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;

class Accumulator {
  c: HourlyCounters = { sessions: 0, startups: 0, play_ms: 0, rebuffer_ms: 0, rebuffer_count: 0, level_switches: 0, error_sessions: 0, bitrate_ms: 0, bitrate_known_ms: 0 };
  bins = new Map<number, number>();
  heights = new Map<number, number>();

  add(c: HourlyCounters): void {
    for (const k of Object.keys(this.c) as Array<keyof HourlyCounters>) this.c[k] += Number(c[k]);
  }

  fields(): QoeFields {
    const c = this.c;
    const watched = c.play_ms + c.rebuffer_ms;
    const renditionTotal = [...this.heights.values()].reduce((s, x) => s + x, 0);
    const p50 = histogramQuantile(this.bins, 0.5);
    const p95 = histogramQuantile(this.bins, 0.95);
    return {
      sessions: c.sessions,
      startup_ms: { p50: p50 === null ? null : Math.round(p50), p95: p95 === null ? null : Math.round(p95) },
      rebuffer_ratio: watched > 0 ? round(c.rebuffer_ms / watched) : 0,
      rebuffers_per_hour: c.play_ms > 0 ? round(c.rebuffer_count / (c.play_ms / 3_600_000), 3) : 0,
      error_sessions_ratio: c.sessions > 0 ? round(c.error_sessions / c.sessions) : 0,
      avg_bitrate_kbps: c.bitrate_known_ms > 0 ? round(c.bitrate_ms / c.bitrate_known_ms, 1) : null,
      renditions: [...this.heights.entries()]
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[0] - a[0])
        .map(([height, ms]) => ({ height, share_of_time: round(ms / renditionTotal, 4) })),
      rebuffers: c.rebuffer_count,
      level_switches: c.level_switches,
      viewing_seconds: round(c.play_ms / 1000, 3),
      rebuffer_seconds: round(c.rebuffer_ms / 1000, 3),
    };
  }
}

export class QoeService {
  constructor(
    private readonly repo: QoeRepository,
    private readonly limiter: RateLimiter,
    private readonly targets: QoeTargets,
    private readonly opts: QoeConfig,
  ) {}

  /** Stores one batch of a session's events with their effect on the aggregates, or nothing. */
  async ingest(batch: EventBatchInput, caller: { user: AuthUser | null; address: string }): Promise<void> {
    if (!batch.video_id === !batch.stream_id)
      throw new ValidationError('Name exactly one of video_id and stream_id.', [{ field: batch.video_id ? 'stream_id' : 'video_id', message: 'exactly one of video_id and stream_id' }]);
    const hit = await this.limiter.hit(`qoe:batches:${caller.address}`, this.opts.batchesPerMinute, 60);
    if (!hit.allowed) throw new RateLimitedError('Too many playback reports from this address; try again later.', hit.retryAfterSeconds);
    const events = [...batch.events].sort((a, b) => a.at_ms - b.at_ms);
    const known = await this.repo.findSession(batch.session_id);
    if (known) this.checkSameSession(known, batch, caller.user);
    else {
      const owner = batch.video_id ? await this.targets.videoOwner(batch.video_id, caller.user) : await this.targets.streamOwner(batch.stream_id!);
      if (owner === null) throw new NotFoundError(batch.video_id ? `No video ${batch.video_id}.` : `No stream ${batch.stream_id}.`);
      const s = await this.limiter.hit(`qoe:sessions:${caller.address}`, this.opts.sessionsPerMinute, 60);
      if (!s.allowed) throw new RateLimitedError('Too many new playback sessions from this address; try again later.', s.retryAfterSeconds);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        if (await this.apply(batch, events, caller.user)) return;
      } catch (err) {
        // Two first batches of one session raced to create it: the loser applies on top.
        if (!isUniqueViolation(err)) throw err;
      }
      if (attempt >= CAS_ATTEMPTS) throw new ConflictError('This playback session is being updated by other requests; send the batch again.');
    }
  }

  private checkSameSession(row: QoeSessionTable, batch: EventBatchInput, user: AuthUser | null): void {
    if ((row.video_id ?? undefined) !== batch.video_id || (row.stream_id ?? undefined) !== batch.stream_id) {
      throw new ConflictError(`Session ${batch.session_id} belongs to another ${row.video_id ? 'video' : 'stream'}; use a new session_id for each playback.`);
    }
    if (row.user_id && user && row.user_id !== user.id) throw new ConflictError(`Session ${batch.session_id} belongs to another user.`);
  }

  /** One compare-and-set round; false when another batch of the session won the race. */
  private apply(batch: EventBatchInput, events: PlaybackEvent[], user: AuthUser | null): Promise<boolean> {
    return this.repo.transaction(async (trx) => {
      const now = Date.now();
      const nowIso = new Date(now).toISOString();
      const row = await this.repo.findSession(batch.session_id, trx);
      if (row) this.checkSameSession(row, batch, user);
      const maxAt = events[events.length - 1]!.at_ms;
      const origin = row ? Number(row.origin_ms) : now - maxAt;
      if (row && maxAt > now - origin + CLOCK_TOLERANCE_MS) {
        throw new ValidationError(`Event times run ahead of the session: at_ms ${maxAt} is more than ${CLOCK_TOLERANCE_MS / 1000} s past the time since the session began.`, [
          { field: 'events.at_ms', message: 'in the future of this session' },
        ]);
      }
      const count = (row ? Number(row.events) : 0) + events.length;
      if (count > this.opts.maxEventsPerSession) throw new ConflictError(`A playback session records at most ${this.opts.maxEventsPerSession} events; start a new session.`);
      const before: SessionState = row
        ? {
            state: row.state as SessionStateName,
            lastAtMs: Number(row.last_at_ms),
            height: row.height,
            bitrate: row.bitrate === null ? null : Number(row.bitrate),
            startupMs: row.startup_ms === null ? null : Number(row.startup_ms),
            fatal: Number(row.fatal) === 1,
          }
        : { state: 'idle', lastAtMs: events[0]!.at_ms, height: null, bitrate: null, startupMs: null, fatal: false };
      const { state, delta } = applyEvents(before, events);
      const next: QoeSessionTable = {
        session_id: batch.session_id,
        video_id: batch.video_id ?? null,
        stream_id: batch.stream_id ?? null,
        user_id: row?.user_id ?? user?.id ?? null,
        started_at: row?.started_at ?? nowIso,
        updated_at: nowIso,
        origin_ms: origin,
        last_at_ms: state.lastAtMs,
        state: state.state,
        height: state.height,
        bitrate: state.bitrate,
        startup_ms: state.startupMs,
        play_ms: (row ? Number(row.play_ms) : 0) + delta.playMs,
        rebuffer_ms: (row ? Number(row.rebuffer_ms) : 0) + delta.rebufferMs,
        rebuffer_count: (row ? Number(row.rebuffer_count) : 0) + delta.rebufferCount,
        level_switches: (row ? Number(row.level_switches) : 0) + delta.levelSwitches,
        error_count: (row ? Number(row.error_count) : 0) + delta.errors,
        fatal: state.fatal ? 1 : 0,
        events: count,
        version: (row ? Number(row.version) : 0) + 1,
      };
      if (row) {
        if (!(await this.repo.updateSession(trx, next, Number(row.version)))) return false;
      } else {
        await this.repo.insertSession(trx, next);
      }
      await this.repo.insertEvents(
        trx,
        events.map((e) => {
          const { type, at_ms, ...data } = e as PlaybackEvent & Record<string, unknown>;
          return { id: uuidv7(), session_id: batch.session_id, type, at_ms, data: JSON.stringify(data), received_at: nowIso };
        }),
      );
      const hour = hourOf(now);
      const counters: HourlyCounters = {
        sessions: row ? 0 : 1,
        startups: delta.startupMs !== null ? 1 : 0,
        play_ms: delta.playMs,
        rebuffer_ms: delta.rebufferMs,
        rebuffer_count: delta.rebufferCount,
        level_switches: delta.levelSwitches,
        error_sessions: delta.newFatal ? 1 : 0,
        bitrate_ms: delta.bitrateMs,
        bitrate_known_ms: delta.bitrateKnownMs,
      };
      for (const target of [batch.video_id ? `v:${batch.video_id}` : `s:${batch.stream_id}`, '*']) {
        await this.repo.addHourly(trx, target, hour, counters);
        if (delta.startupMs !== null) await this.repo.addStartup(trx, target, hour, startupBin(delta.startupMs));
        for (const [height, ms] of delta.renditionMs) await this.repo.addRenditionTime(trx, target, hour, height, ms);
      }
      return true;
    });
  }

  /** Owner-or-admin summary of one video; others get the videos capability's 404 or a 403. */
  async videoOwner(id: string, user: AuthUser | null): Promise<string | null> {
    return this.targets.videoOwner(id, user);
  }

  async streamOwner(id: string): Promise<string | null> {
    return this.targets.streamOwner(id);
  }

  /** Aggregates of one target ("v:<id>", "s:<id>" or "*") over a window, with hourly or daily points. */
  async summary(target: string, window: QoeWindow, points: 'hours' | 'days'): Promise<QoeSummary> {
    const fromMs = Math.floor((Date.now() - WINDOW_HOURS[window] * 3_600_000) / 3_600_000) * 3_600_000;
    const from = new Date(fromMs).toISOString();
    const [hourly, hist, renditions] = await Promise.all([this.repo.hourly(target, from), this.repo.startupHist(target, from), this.repo.renditionTime(target, from)]);
    const keyOf = (hour: string) => (points === 'days' ? `${new Date(hour).toISOString().slice(0, 10)}T00:00:00.000Z` : new Date(hour).toISOString());
    const total = new Accumulator();
    const buckets = new Map<string, Accumulator>();
    const bucket = (hour: string) => {
      const k = keyOf(hour);
      let a = buckets.get(k);
      if (!a) buckets.set(k, (a = new Accumulator()));
      return a;
    };
    for (const r of hourly) {
      total.add(r);
      bucket(r.hour).add(r);
    }
    for (const r of hist) {
      for (const a of [total, bucket(r.hour)]) a.bins.set(Number(r.bin), (a.bins.get(Number(r.bin)) ?? 0) + Number(r.count));
    }
    for (const r of renditions) {
      for (const a of [total, bucket(r.hour)]) a.heights.set(Number(r.height), (a.heights.get(Number(r.height)) ?? 0) + Number(r.ms));
    }
    const series = [...buckets.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([start, a]) => ({ start, ...a.fields() }));
    return { window, from, ...total.fields(), [points]: series };
  }

  /** Sessions of these users since `since`, for experiment guardrails. */
  sessionsOfUsers(userIds: string[], since: string): Promise<UserSession[]> {
    return this.repo.sessionsOfUsers(userIds, since);
  }

  async prune(now = Date.now()): Promise<number> {
    return this.repo.prune(new Date(now - this.opts.retentionDays * 86_400_000).toISOString());
  }
}
