// The videos table. No product rules here (see videos.service); writes that go with an event take
// the caller's transaction so the outbox row commits with them.
import type { ColumnType, Selectable } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';

export type Visibility = 'public' | 'unlisted' | 'private';
export const VISIBILITIES: readonly Visibility[] = ['public', 'unlisted', 'private'];

export type VideoStatus = 'waiting_upload' | 'queued' | 'processing' | 'ready' | 'failed';

export interface StoredRendition {
  height: number;
  width: number;
  bandwidth: number;
  average_bandwidth: number;
  codecs: string;
  frame_rate: number | null;
  /** Media playlist key relative to the run's HLS folder. */
  playlist: string;
  /** Absent on renditions stored before quality receipts. */
  bytes?: number;
  quality?: { ssim: number; psnr: number; ssim_p10: number } | null;
}

export interface VideoTable {
  id: string;
  owner_id: string;
  title: string;
  description: string;
  status: VideoStatus;
  source_key: string | null;
  source_size: number | null;
  source_stream_id: string | null;
  upload_id: string | null;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  has_audio: number | null;
  video_codec: string | null;
  audio_codec: string | null;
  run_id: string | null;
  /** JSON array of StoredRendition. */
  renditions: string | null;
  /** per_title or fixed; null before the video is processed (or if processed before receipts). */
  encoding_mode: string | null;
  manifest_key: string | null;
  thumbnail_key: string | null;
  storyboard_key: string | null;
  storyboard_vtt_key: string | null;
  playable_key: string | null;
  stage: string | null;
  progress: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  /** Defaults to public when an insert leaves it out. */
  visibility: ColumnType<Visibility, Visibility | undefined, Visibility>;
  /** JSON array of strings. */
  tags: ColumnType<string, string | undefined, string>;
  /** Set while a moderator hides the video: only its owner and admins see it then. */
  hidden_at: ColumnType<string | null, string | null | undefined, string | null>;
  hidden_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    videos: VideoTable;
  }
}

export type VideoRow = Selectable<VideoTable>;

/** The one video column uploads own: `upload_id`, the video's live tus upload. */
export interface UploadSlot {
  status: VideoStatus;
  upload_id: string | null;
}

export interface ListFilter {
  ownerId?: string;
  status?: VideoStatus;
  /** Only public ready videos, plus every video of this user (the caller's own). */
  visibleTo?: { userId: string | null; admin: boolean };
  /** Only public ready videos, whoever asks (listings such as "recent" and channels). */
  listedOnly?: boolean;
  beforeId?: string;
  limit: number;
}

export class VideosRepository {
  constructor(private readonly db: Db) {}

  get kysely() {
    return this.db.kysely;
  }

  async insert(trx: Executor, row: VideoRow): Promise<void> {
    await trx.insertInto('videos').values(row).execute();
  }

  async findById(id: string, trx: Executor = this.db.kysely): Promise<VideoRow | undefined> {
    return trx.selectFrom('videos').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The owner's videos still waiting for their upload, created at or after `since`. */
  async countWaitingUploads(trx: Executor, ownerId: string, since: string): Promise<number> {
    const r = await trx
      .selectFrom('videos')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('status', '=', 'waiting_upload')
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async list(f: ListFilter): Promise<VideoRow[]> {
    let q = this.db.kysely.selectFrom('videos').selectAll();
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    if (f.status) q = q.where('status', '=', f.status);
    const v = f.visibleTo;
    if (f.listedOnly) {
      q = q.where('status', '=', 'ready').where('visibility', '=', 'public').where('hidden_at', 'is', null);
    } else if (v && !v.admin) {
      q = v.userId
        ? q.where((eb) => eb.or([eb.and([eb('status', '=', 'ready'), eb('visibility', '=', 'public'), eb('hidden_at', 'is', null)]), eb('owner_id', '=', v.userId!)]))
        : q.where('status', '=', 'ready').where('visibility', '=', 'public').where('hidden_at', 'is', null);
    }
    if (f.beforeId) q = q.where('id', '<', f.beforeId);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  }

  /**
   * Updates columns; `onlyStatus` (and `onlyUploadId`, the recorded tus upload) guard against racing
   * writers (e.g. a delete or a second upload).
   */
  async update(trx: Executor, id: string, set: Partial<VideoRow>, onlyStatus?: VideoStatus[], onlyUploadId?: string): Promise<boolean> {
    let q = trx
      .updateTable('videos')
      .set({ ...set, updated_at: new Date().toISOString() })
      .where('id', '=', id);
    if (onlyStatus) q = q.where('status', 'in', onlyStatus);
    if (onlyUploadId !== undefined) q = q.where('upload_id', '=', onlyUploadId);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Ready public videos per owner (a channel's count). */
  async countListed(ownerId: string): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('videos')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('status', '=', 'ready')
      .where('visibility', '=', 'public')
      .where('hidden_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Visibility and status of each of `ids` that exists. */
  async visibilityOf(ids: string[]): Promise<Map<string, { owner_id: string; status: VideoStatus; visibility: Visibility }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.kysely.selectFrom('videos').select(['id', 'owner_id', 'status', 'visibility', 'hidden_at']).where('id', 'in', ids).execute();
    // A hidden video reads as private to the capabilities that ask: none of them lists it.
    return new Map(rows.map((r) => [r.id, { owner_id: r.owner_id, status: r.status, visibility: r.hidden_at ? 'private' : r.visibility }]));
  }

  /** Public ready videos of any of these owners, newest first (a following feed). */
  async listedByOwners(ownerIds: string[], beforeId: string | undefined, limit: number): Promise<VideoRow[]> {
    if (ownerIds.length === 0) return [];
    let q = this.db.kysely.selectFrom('videos').selectAll().where('owner_id', 'in', ownerIds).where('status', '=', 'ready').where('visibility', '=', 'public').where('hidden_at', 'is', null);
    if (beforeId) q = q.where('id', '<', beforeId);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }

  async findMany(ids: string[]): Promise<VideoRow[]> {
    if (ids.length === 0) return [];
    return this.db.kysely.selectFrom('videos').selectAll().where('id', 'in', ids).execute();
  }

  /** Every video, a page at a time in id order (the search reindex). */
  async page(afterId: string | null, limit: number): Promise<VideoRow[]> {
    let q = this.db.kysely.selectFrom('videos').selectAll();
    if (afterId) q = q.where('id', '>', afterId);
    return q.orderBy('id').limit(limit).execute();
  }

  async delete(trx: Executor, id: string): Promise<boolean> {
    const res = await trx.deleteFrom('videos').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // Query functions for other capabilities, which read and change videos only through these.

  /** What engagement needs to decide whether a video counts views (engagement). */
  async engagementView(id: string): Promise<{ id: string; owner_id: string; status: VideoStatus; visibility: Visibility; duration_seconds: number | null } | undefined> {
    const row = await this.db.kysely.selectFrom('videos').select(['id', 'owner_id', 'status', 'visibility', 'hidden_at', 'duration_seconds']).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const { hidden_at: hidden, ...rest } = row;
    // A video hidden by a moderator is, to engagement, private: only its owner reaches it.
    return { ...rest, visibility: hidden ? 'private' : rest.visibility, duration_seconds: rest.duration_seconds === null ? null : Number(rest.duration_seconds) };
  }

  /** Cards of the public ready videos among `ids`, in no particular order (trending). */
  async publicCards(ids: string[]): Promise<Array<Pick<VideoRow, 'id' | 'title' | 'owner_id' | 'thumbnail_key' | 'duration_seconds'>>> {
    if (ids.length === 0) return [];
    return this.db.kysely
      .selectFrom('videos')
      .select(['id', 'title', 'owner_id', 'thumbnail_key', 'duration_seconds'])
      .where('id', 'in', ids)
      .where('status', '=', 'ready')
      .where('visibility', '=', 'public')
      .where('hidden_at', 'is', null)
      .execute();
  }

  /** The video's status and recorded tus upload; undefined once the video is gone (uploads). */
  async uploadSlot(videoId: string): Promise<UploadSlot | undefined> {
    return this.db.kysely.selectFrom('videos').select(['status', 'upload_id']).where('id', '=', videoId).executeTakeFirst();
  }

  /**
   * Records `next` as the video's upload if it still waits for one and still records `expected`
   * (uploads). Compare-and-set, so two creations racing for one video agree on which upload replaced which.
   */
  async swapUpload(videoId: string, expected: string | null, next: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('videos')
      .set({ upload_id: next, updated_at: new Date().toISOString() })
      .where('id', '=', videoId)
      .where('status', '=', 'waiting_upload')
      .where('upload_id', expected === null ? 'is' : '=', expected)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
