// Streams and their publish sessions in the database. No product rules here (see live.service):
// only queries, among them the conditional updates that make lifecycle transitions race-free.
import type { Db, Executor } from '../infra/db/database.js';

export type StreamStatus = 'idle' | 'live' | 'ended';
export type RecordingState = 'none' | 'pending' | 'processing' | 'done' | 'failed';

export interface StreamTable {
  id: string;
  creator_id: string;
  title: string;
  status: StreamStatus;
  stream_key_hash: string;
  key_rotated_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  viewer_count: number;
  peak_viewer_count: number;
  publisher_id: string | null;
  publisher_heartbeat_at: string | null;
  disconnected_at: string | null;
  ladder: string | null;
  recording_state: RecordingState;
  recording_video_id: string | null;
  created_at: string;
  /** 1: the key keeps working across broadcasts; 0: single-use. */
  reusable: number;
  dvr_window_seconds: number;
  clips_by_viewers: number;
  broadcast_id: string | null;
  disabled_at: string | null;
  /** The publisher's latest ingest measurements (JSON, see IngestHealth); null while nobody publishes. */
  ingest_health: string | null;
}

export interface BroadcastTable {
  id: string;
  stream_id: string;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
  duration_seconds: number | null;
  peak_viewer_count: number;
  recording_state: RecordingState;
  recording_video_id: string | null;
}

export interface StreamSessionTable {
  id: string;
  stream_id: string;
  started_at: string;
  ended_at: string | null;
  remote_address: string | null;
  width: number | null;
  height: number | null;
  recording_key: string | null;
  end_reason: string | null;
  broadcast_id: string | null;
  media_started_at: string | null;
  media_seconds: number | null;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    streams: StreamTable;
    stream_sessions: StreamSessionTable;
    broadcasts: BroadcastTable;
  }
}

export type StreamRow = StreamTable;
export type BroadcastRow = BroadcastTable;

export class LiveRepository {
  constructor(readonly db: Db) {}

  transaction<T>(fn: (trx: Executor) => Promise<T>): Promise<T> {
    return this.db.kysely.transaction().execute(fn);
  }

  async insert(row: StreamTable): Promise<void> {
    await this.db.kysely.insertInto('streams').values(row).execute();
  }

  async findById(id: string, ex: Executor = this.db.kysely): Promise<StreamRow | undefined> {
    return ex.selectFrom('streams').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByKeyHash(hash: string): Promise<StreamRow | undefined> {
    return this.db.kysely.selectFrom('streams').selectAll().where('stream_key_hash', '=', hash).executeTakeFirst();
  }

  async list(opts: { status?: StreamStatus; creatorId?: string; limit: number; before?: string }): Promise<StreamRow[]> {
    let q = this.db.kysely.selectFrom('streams').selectAll();
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.creatorId) q = q.where('creator_id', '=', opts.creatorId);
    if (opts.before) q = q.where('id', '<', opts.before);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  /** Replaces the key hash; true when the stream exists and has not ended. */
  /** Every stream live now, with its swept viewer count (trending's live list). */
  async liveNow(): Promise<Array<Pick<StreamRow, 'id' | 'title' | 'creator_id' | 'started_at' | 'viewer_count'>>> {
    return this.db.kysely.selectFrom('streams').select(['id', 'title', 'creator_id', 'started_at', 'viewer_count']).where('status', '=', 'live').execute();
  }

  async rotateKey(id: string, hash: string, now: string): Promise<boolean> {
    const r = await this.db.kysely.updateTable('streams').set({ stream_key_hash: hash, key_rotated_at: now }).where('id', '=', id).where('status', '!=', 'ended').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Claims the publisher slot for an ingest process: only when the stream has not ended and
   * nobody holds it (or the holder stopped sending heartbeats before `staleBefore`).
   */
  async claimPublisher(id: string, publisherId: string, now: string, staleBefore: string, ex: Executor): Promise<boolean> {
    const r = await ex
      .updateTable('streams')
      .set({ publisher_id: publisherId, publisher_heartbeat_at: now, disconnected_at: null })
      .where('id', '=', id)
      .where('status', '!=', 'ended')
      .where((eb) => eb.or([eb('publisher_id', 'is', null), eb('publisher_heartbeat_at', '<', staleBefore)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** idle → live, once per broadcast: the only transition that emits stream.started. */
  async markLive(id: string, now: string, ladder: string, broadcastId: string, ex: Executor): Promise<boolean> {
    // A session of a broadcast that has already ended (raced with its end) never reopens it.
    if (await ex.selectFrom('broadcasts').select('id').where('id', '=', broadcastId).executeTakeFirst()) return false;
    const r = await ex
      .updateTable('streams')
      .set({ status: 'live', started_at: now, ended_at: null, end_reason: null, ladder, recording_state: 'pending', broadcast_id: broadcastId, viewer_count: 0, peak_viewer_count: 0 })
      .where('id', '=', id)
      .where('status', '=', 'idle')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await ex
      .insertInto('broadcasts')
      .values({ id: broadcastId, stream_id: id, started_at: now, ended_at: null, end_reason: null, duration_seconds: null, peak_viewer_count: 0, recording_state: 'pending', recording_video_id: null })
      .execute();
    return true;
  }

  async setLadder(id: string, ladder: string): Promise<void> {
    await this.db.kysely.updateTable('streams').set({ ladder }).where('id', '=', id).where('status', '=', 'live').execute();
  }

  async heartbeat(id: string, publisherId: string, now: string, health: string | null = null): Promise<void> {
    await this.db.kysely.updateTable('streams').set({ publisher_heartbeat_at: now, ingest_health: health }).where('id', '=', id).where('publisher_id', '=', publisherId).execute();
  }

  /** The publisher left: frees the slot and starts the reconnect window. */
  async releasePublisher(id: string, publisherId: string, now: string): Promise<void> {
    await this.db.kysely
      .updateTable('streams')
      .set({ publisher_id: null, publisher_heartbeat_at: null, disconnected_at: now, ingest_health: null })
      .where('id', '=', id)
      .where('publisher_id', '=', publisherId)
      .execute();
  }

  /**
   * live → ended, guarded so that only one caller (reconnect timeout, POST …/end, duration cap,
   * another process) wins and emits stream.ended. Returns the row as it was ended, or undefined.
   */
  async markEnded(id: string, now: string, reason: string, ex: Executor, opts: { disable?: boolean } = {}): Promise<StreamRow | undefined> {
    const before = await this.findById(id, ex);
    if (!before || before.status !== 'live') return undefined;
    // A reusable stream goes back to idle for its next broadcast, unless it is being disabled.
    const status = before.reusable && !opts.disable ? 'idle' : 'ended';
    const r = await ex
      .updateTable('streams')
      .set({ status, ended_at: now, end_reason: reason, viewer_count: 0, broadcast_id: null, ...(opts.disable ? { disabled_at: now } : {}) })
      .where('id', '=', id)
      .where('status', '=', 'live')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    const row = await this.findById(id, ex);
    if (row && before.broadcast_id) {
      const duration = Math.max(0, Math.round((Date.parse(now) - Date.parse(before.started_at ?? now)) / 1000));
      await ex
        .updateTable('broadcasts')
        .set({ ended_at: now, end_reason: reason, duration_seconds: duration, peak_viewer_count: row.peak_viewer_count })
        .where('id', '=', before.broadcast_id)
        .execute();
    }
    return row ? { ...row, broadcast_id: before.broadcast_id } : undefined;
  }

  /** idle → ended for good (DELETE of a stream that is not live). */
  async disableIdle(id: string, now: string): Promise<boolean> {
    const r = await this.db.kysely
      .updateTable('streams')
      .set({ status: 'ended', ended_at: now, end_reason: 'deleted', disabled_at: now })
      .where('id', '=', id)
      .where('status', '=', 'idle')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async broadcasts(streamId: string, limit: number): Promise<BroadcastRow[]> {
    return this.db.kysely.selectFrom('broadcasts').selectAll().where('stream_id', '=', streamId).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async findBroadcast(id: string): Promise<BroadcastRow | undefined> {
    return this.db.kysely.selectFrom('broadcasts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async broadcastOfRecording(videoId: string): Promise<BroadcastRow | undefined> {
    return this.db.kysely.selectFrom('broadcasts').selectAll().where('recording_video_id', '=', videoId).executeTakeFirst();
  }

  /** The session's first keyframe reached the transcoder: its recording part starts now. */
  async setMediaStarted(sessionId: string, at: string): Promise<void> {
    await this.db.kysely.updateTable('stream_sessions').set({ media_started_at: at }).where('id', '=', sessionId).where('media_started_at', 'is', null).execute();
  }

  async sessionsOfBroadcast(broadcastId: string): Promise<StreamSessionTable[]> {
    return this.db.kysely.selectFrom('stream_sessions').selectAll().where('broadcast_id', '=', broadcastId).orderBy('started_at').orderBy('id').execute();
  }

  /** idle → ended (ending a stream that never went live): no event, nothing to record. */
  async endIdle(id: string, now: string, reason: string): Promise<boolean> {
    const r = await this.db.kysely.updateTable('streams').set({ status: 'ended', ended_at: now, end_reason: reason }).where('id', '=', id).where('status', '=', 'idle').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Live streams whose publisher is gone (released, or silent since staleBefore) since before `disconnectedBefore`. */
  async findAbandoned(disconnectedBefore: string, staleBefore: string): Promise<StreamRow[]> {
    return this.db.kysely
      .selectFrom('streams')
      .selectAll()
      .where('status', '=', 'live')
      .where((eb) =>
        eb.or([eb.and([eb('publisher_id', 'is', null), eb('disconnected_at', '<', disconnectedBefore)]), eb.and([eb('publisher_id', 'is not', null), eb('publisher_heartbeat_at', '<', staleBefore)])]),
      )
      .execute();
  }

  async findOverDuration(startedBefore: string): Promise<StreamRow[]> {
    return this.db.kysely.selectFrom('streams').selectAll().where('status', '=', 'live').where('started_at', '<', startedBefore).execute();
  }

  async statuses(ids: string[]): Promise<Map<string, { status: StreamStatus; broadcastId: string | null }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.kysely.selectFrom('streams').select(['id', 'status', 'broadcast_id']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, { status: r.status, broadcastId: r.broadcast_id }]));
  }

  /**
   * Current and peak viewers of a live stream; the stored peak never goes down. False when the
   * stream is not live (nothing was written).
   */
  async setViewers(id: string, count: number, peak: number): Promise<boolean> {
    const r = await this.db.kysely
      .updateTable('streams')
      .set((eb) => ({
        viewer_count: count,
        peak_viewer_count: eb.case().when('peak_viewer_count', '<', Math.max(count, peak)).then(Math.max(count, peak)).else(eb.ref('peak_viewer_count')).end(),
      }))
      .where('id', '=', id)
      .where('status', '=', 'live')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // Recording hand-off: claimed by one process once the broadcast ended and none of its publish
  // sessions is still open (their recording parts are all stored).
  async findRecordingsToAssemble(): Promise<BroadcastRow[]> {
    return this.db.kysely
      .selectFrom('broadcasts')
      .selectAll()
      .where('recording_state', '=', 'pending')
      .where('ended_at', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('stream_sessions').select('stream_sessions.id').whereRef('stream_sessions.broadcast_id', '=', 'broadcasts.id').where('stream_sessions.ended_at', 'is', null))),
      )
      .limit(5)
      .execute();
  }

  /** Moves a broadcast's recording along; the stream keeps the state of its latest recording too. */
  async setRecordingState(b: Pick<BroadcastRow, 'id' | 'stream_id'>, from: RecordingState, to: RecordingState, videoId?: string | null): Promise<boolean> {
    const set = videoId === undefined ? { recording_state: to } : { recording_state: to, recording_video_id: videoId };
    return this.transaction(async (trx) => {
      const r = await trx.updateTable('broadcasts').set(set).where('id', '=', b.id).where('recording_state', '=', from).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      const latest = await trx.selectFrom('broadcasts').select('id').where('stream_id', '=', b.stream_id).orderBy('started_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
      if (latest?.id === b.id) await trx.updateTable('streams').set(set).where('id', '=', b.stream_id).execute();
      return true;
    });
  }

  async insertSession(row: StreamSessionTable, ex: Executor): Promise<void> {
    await ex.insertInto('stream_sessions').values(row).execute();
  }

  async finishSession(
    id: string,
    patch: { ended_at: string; end_reason: string; recording_key: string | null; width?: number | null; height?: number | null; media_started_at?: string; media_seconds?: number },
  ): Promise<void> {
    await this.db.kysely.updateTable('stream_sessions').set(patch).where('id', '=', id).execute();
  }

  async sessions(streamId: string): Promise<StreamSessionTable[]> {
    return this.db.kysely.selectFrom('stream_sessions').selectAll().where('stream_id', '=', streamId).orderBy('started_at').orderBy('id').execute();
  }
}
