// VOD business rules: who sees and changes a video, its status transitions (each with its outbox
// event in the same transaction), queue positions, playback and deletion of every stored object.
// The pipeline (src/transcode) drives processing through the transitions defined here.
import { v7 as uuidv7 } from 'uuid';
import type { Transaction } from 'kysely';
import type { AuthUser } from '../accounts/accounts.service.js';
import { appendEvent } from '../events/outbox.repository.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../http/errors.js';
import { cleanLine, cleanMultiline } from '../shared/text.js';
import type { Db, Executor } from '../infra/db/database.js';
import type { Tables } from '../infra/db/schema.js';
import type { Logger } from '../infra/logger.js';
import type { JobQueue } from '../infra/queue/job.queue.js';
import type { JobRow } from '../infra/queue/queue.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { isTerminal, type ProgressBus, type ProgressSnapshot } from './progress.bus.js';
import { sourceKey, TRANSCODE_JOB, videoPrefix } from './videos.keys.js';
import { VideosRepository, type StoredRendition, type VideoRow, type VideoStatus, type Visibility } from './videos.repository.js';

/** Keeps the search index in step with a video, inside the transaction that changes it. */
export interface VideoIndexer {
  /** The owner's name, which the document also matches on; read before the transaction opens. */
  ownerName(ownerId: string): Promise<string>;
  index(trx: Executor, v: VideoRow, ownerName: string): Promise<void>;
  remove(trx: Executor, id: string): Promise<void>;
}

export interface VideoPatch {
  title?: string;
  description?: string;
  tags?: string[];
  visibility?: Visibility;
}

export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 40;

/** The title as stored: trimmed, inner runs of whitespace made one space; empty is refused. */
export function cleanTitle(title: string): string {
  const t = cleanLine(title).replace(/\s+/gu, ' ');
  if (!t) throw new ValidationError('The title is empty once surrounding spaces are removed.', [{ field: 'title', message: 'must not be empty' }]);
  return t;
}

/** Tags as stored: trimmed, empty ones dropped, duplicates (ignoring case) once. */
export function cleanTags(tags: string[]): string[] {
  const out = new Map<string, string>();
  for (const raw of tags) {
    const t = cleanLine(raw).replace(/\s+/gu, ' ');
    if (t && !out.has(t.toLowerCase())) out.set(t.toLowerCase(), t);
  }
  if (out.size > MAX_TAGS) throw new ValidationError(`At most ${MAX_TAGS} tags.`, [{ field: 'tags', message: `must have at most ${MAX_TAGS} items` }]);
  return [...out.values()];
}

export interface CreateFromFileInput {
  ownerId: string;
  title: string;
  filePath: string;
  sourceStreamId?: string | null;
  description?: string;
}

export interface ProcessedOutputs {
  runId: string;
  renditions: StoredRendition[];
  encodingMode: 'per_title' | 'fixed';
  manifestKey: string;
  thumbnailKey: string | null;
  storyboardKey: string | null;
  storyboardVttKey: string | null;
}

/** Removes a deleted video's unfinished uploads (the uploads capability's files, built before this service). */
export type UploadCleaner = (video: VideoRow) => Promise<void>;

export interface PendingUploadLimit {
  /** Videos one user may have waiting for their upload at once; 0 means no limit. */
  maxPerUser: number;
  /** Only videos created this recently count: older uploads have expired. */
  withinSeconds: number;
  /**
   * Makes other transactions that lock the same owner wait until `trx` ends (accounts locks the
   * user), so concurrent creations count the owner's waiting uploads one at a time.
   */
  lockOwner(trx: Executor, ownerId: string): Promise<void>;
}

export class VideosService {
  constructor(
    private readonly db: Db,
    readonly repo: VideosRepository,
    readonly storage: ObjectStorage,
    readonly queue: JobQueue,
    readonly bus: ProgressBus,
    private readonly logger: Logger,
    private readonly pending: PendingUploadLimit,
    private readonly indexer: VideoIndexer,
    private readonly uploadCleaner: UploadCleaner,
    /** Told once an edit, a moderator's hide or a deletion committed, so this node's read models (the feed) follow at once. */
    private readonly listingChanged: (id: string) => Promise<void> = async () => {},
  ) {}

  private async announce(id: string): Promise<void> {
    try {
      await this.listingChanged(id);
    } catch (err) {
      this.logger.warn({ err, video_id: id }, 'videos: telling read models of an edit failed; its event will');
    }
  }

  /**
   * Owner and admins see everything; others a ready video that is not private (unlisted plays by
   * its id) and not hidden by a moderator. The owner still sees a hidden video, with the reason.
   */
  canView(v: VideoRow, user: AuthUser | null): boolean {
    if (user !== null && (user.id === v.owner_id || user.role === 'admin')) return true;
    return v.status === 'ready' && v.visibility !== 'private' && v.hidden_at === null;
  }

  /**
   * A moderator hides (reason) or shows again (null) a video. The search index follows in the same
   * transaction; the change goes out as `video.updated` so read models (feed, trending) drop it.
   */
  async setHidden(id: string, reason: string | null): Promise<VideoRow> {
    const v = await this.repo.findById(id);
    if (!v) throw new NotFoundError(`No video ${id}.`);
    const ownerName = await this.indexer.ownerName(v.owner_id);
    const updated = await this.db.kysely.transaction().execute(async (trx) => {
      const set = reason === null ? { hidden_at: null, hidden_reason: null } : { hidden_at: new Date().toISOString(), hidden_reason: reason };
      if (!(await this.repo.update(trx, id, set))) return undefined;
      const row = await this.repo.findById(id, trx);
      if (!row) return undefined;
      if (reason === null) await this.indexer.index(trx, row, ownerName);
      else await this.indexer.remove(trx, id);
      await appendEvent(trx, 'video.updated', id, {
        video_id: id,
        owner_id: row.owner_id,
        title: row.title,
        visibility: row.hidden_at ? 'private' : row.visibility,
        tags: JSON.parse(row.tags) as string[],
        changed: ['hidden'],
        timestamp: new Date().toISOString(),
      });
      return row;
    });
    if (!updated) throw new NotFoundError(`No video ${id}.`);
    await this.announce(id);
    return updated;
  }

  /** A video the caller may see; others' unpublished videos read as absent. */
  async getVisible(id: string, user: AuthUser | null): Promise<VideoRow> {
    const v = await this.repo.findById(id);
    if (!v || !this.canView(v, user)) throw new NotFoundError(`No video ${id}.`);
    return v;
  }

  async create(owner: AuthUser, input: { title: string; description?: string; tags?: string[]; visibility?: Visibility }): Promise<VideoRow> {
    const { maxPerUser, withinSeconds, lockOwner } = this.pending;
    const now = new Date().toISOString();
    const row = blankVideo({ id: uuidv7(), owner_id: owner.id, title: cleanTitle(input.title), description: cleanMultiline(input.description ?? ''), status: 'waiting_upload', created_at: now });
    row.tags = JSON.stringify(cleanTags(input.tags ?? []));
    row.visibility = input.visibility ?? 'public';
    await this.db.kysely.transaction().execute(async (trx) => {
      if (maxPerUser > 0) {
        // Each waiting video may hold an upload of up to UPLOAD_MAX_BYTES: a user cannot open
        // unlimited ones and fill the disk. One user's creations take turns from the count to the
        // insert, so creations arriving together cannot all pass the same count.
        await lockOwner(trx, owner.id);
        const since = new Date(Date.now() - withinSeconds * 1000).toISOString();
        const waiting = await this.repo.countWaitingUploads(trx, owner.id, since);
        if (waiting >= maxPerUser) {
          throw new ConflictError(`You already have ${waiting} videos waiting for their upload (at most ${maxPerUser}): finish or delete one of them first.`);
        }
      }
      await this.repo.insert(trx, row);
    });
    return row;
  }

  /**
   * Owner or admin: changes title, description, tags or visibility, with `video.updated` and the
   * search document in the same transaction, so every read after this answers by the new values.
   */
  async update(id: string, user: AuthUser, patch: VideoPatch): Promise<VideoRow> {
    const v = await this.getVisible(id, user);
    if (v.owner_id !== user.id && user.role !== 'admin') throw new ForbiddenError('Only the owner of this video or an admin can change it.');
    const set: Partial<VideoRow> = {};
    if (patch.title !== undefined) set.title = cleanTitle(patch.title);
    if (patch.description !== undefined) set.description = cleanMultiline(patch.description);
    if (patch.tags !== undefined) set.tags = JSON.stringify(cleanTags(patch.tags));
    if (patch.visibility !== undefined) set.visibility = patch.visibility;
    const changed = (Object.keys(set) as Array<keyof VideoRow>).filter((k) => set[k] !== v[k]);
    if (changed.length === 0) return v;
    const ownerName = await this.indexer.ownerName(v.owner_id);
    const updated = await this.db.kysely.transaction().execute(async (trx) => {
      if (!(await this.repo.update(trx, id, set))) return null;
      const row = (await this.repo.findById(id, trx))!;
      await this.indexer.index(trx, row, ownerName);
      await appendEvent(trx, 'video.updated', id, {
        video_id: id,
        owner_id: row.owner_id,
        title: row.title,
        visibility: row.visibility,
        tags: JSON.parse(row.tags) as string[],
        changed: changed as string[],
        timestamp: row.updated_at,
      });
      return row;
    });
    if (!updated) throw new NotFoundError(`No video ${id}.`);
    await this.announce(id);
    return updated;
  }

  /** Public ready videos of a user (a channel's count). */
  countListed(ownerId: string): Promise<number> {
    return this.repo.countListed(ownerId);
  }

  /** Public ready videos of these creators, newest first, a page at a time. */
  async listedByOwners(ownerIds: string[], cursor: string | undefined, limit: number): Promise<{ items: VideoRow[]; nextCursor: string | null }> {
    const items = await this.repo.listedByOwners(ownerIds, cursor, limit + 1);
    const more = items.length > limit;
    const page = more ? items.slice(0, limit) : items;
    return { items: page, nextCursor: more ? page[page.length - 1].id : null };
  }

  async list(user: AuthUser | null, q: { ownerId?: string; status?: VideoStatus; cursor?: string; limit: number; listedOnly?: boolean }): Promise<{ items: VideoRow[]; nextCursor: string | null }> {
    const items = await this.repo.list({
      ownerId: q.ownerId,
      status: q.status,
      listedOnly: q.listedOnly,
      visibleTo: { userId: user?.id ?? null, admin: user?.role === 'admin' },
      beforeId: q.cursor,
      limit: q.limit + 1,
    });
    const more = items.length > q.limit;
    const page = more ? items.slice(0, q.limit) : items;
    return { items: page, nextCursor: more ? page[page.length - 1].id : null };
  }

  /**
   * Upload `uploadId` finished: the video goes `queued`, its upload events go to the outbox and its
   * job is added, all in one transaction. False when the video is gone, was already uploaded, or
   * records another upload (a newer creation replaced this one).
   */
  async acceptUpload(videoId: string, uploadId: string, source: { key: string; size: number }): Promise<boolean> {
    const job = await this.db.kysely.transaction().execute(async (trx) => {
      const v = await this.repo.findById(videoId, trx);
      if (!v) return null;
      const ok = await this.repo.update(trx, videoId, { status: 'queued', source_key: source.key, source_size: source.size, stage: null, progress: 0, error: null }, ['waiting_upload'], uploadId);
      if (!ok) return null;
      return this.enqueue(trx, v, source.size);
    });
    if (!job) return false;
    await this.queue.dispatch(job);
    await this.publishSnapshot(videoId);
    return true;
  }

  /** Stores a finished file (e.g. a live recording) as a new video's source and queues its processing. */
  async createFromFile(input: CreateFromFileInput): Promise<VideoRow> {
    const id = uuidv7();
    const key = sourceKey(id);
    await this.storage.putFile(key, input.filePath);
    const info = await this.storage.stat(key);
    const now = new Date().toISOString();
    const row = blankVideo({ id, owner_id: input.ownerId, title: input.title, description: input.description ?? '', status: 'queued', created_at: now });
    row.source_key = key;
    row.source_size = info?.size ?? 0;
    row.source_stream_id = input.sourceStreamId ?? null;
    let job: JobRow;
    try {
      job = await this.db.kysely.transaction().execute(async (trx) => {
        await this.repo.insert(trx, row);
        return this.enqueue(trx, row, row.source_size ?? 0);
      });
    } catch (err) {
      await this.storage.deletePrefix(videoPrefix(id)).catch(() => {});
      throw err;
    }
    await this.queue.dispatch(job);
    return row;
  }

  private async enqueue(trx: Executor, v: VideoRow, size: number): Promise<JobRow> {
    const timestamp = new Date().toISOString();
    const payload = { video_id: v.id, owner_id: v.owner_id, size_bytes: size, timestamp };
    await appendEvent(trx, 'video.uploaded', v.id, payload);
    await appendEvent(trx, 'video.upload.completed', v.id, payload);
    return this.queue.add(trx, { type: TRANSCODE_JOB, subjectId: v.id });
  }

  /** Owner or admin. The row and its jobs go with `video.deleted` in one transaction, then every object. */
  async delete(id: string, user: AuthUser): Promise<void> {
    const v = await this.repo.findById(id);
    if (!v || !this.canView(v, user)) throw new NotFoundError(`No video ${id}.`);
    if (v.owner_id !== user.id && user.role !== 'admin') throw new ForbiddenError('Only the owner of this video or an admin can delete it.');
    const jobs = await this.queue.repo.idsForSubject(id);
    const deleted = await this.db.kysely.transaction().execute(async (trx) => {
      await this.queue.repo.deleteForSubject(trx, id);
      const ok = await this.repo.delete(trx, id);
      if (ok) await this.indexer.remove(trx, id);
      if (ok) await appendEvent(trx, 'video.deleted', id, { video_id: id, owner_id: v.owner_id, timestamp: new Date().toISOString() });
      return ok;
    });
    if (!deleted) throw new NotFoundError(`No video ${id}.`);
    await this.announce(id);
    // A transcode of it running here stops now; one on another node at its next heartbeat.
    for (const jobId of jobs) this.queue.cancel(jobId);
    await this.uploadCleaner(v).catch((err) => this.logger.warn({ err, video_id: id }, 'removing the unfinished upload failed'));
    await this.removeObjects(id);
  }

  /** Removes every object of a video; also used by a worker that finds its video deleted mid-run. */
  async removeObjects(id: string): Promise<void> {
    try {
      await this.storage.deletePrefix(videoPrefix(id));
    } catch (err) {
      this.logger.error({ err, video_id: id }, 'removing the objects of a deleted video failed');
    }
  }

  async snapshot(v: VideoRow): Promise<ProgressSnapshot> {
    const job = await this.queue.repo.latestForSubject(v.id);
    const queued = v.status === 'queued' && job && (job.state === 'queued' || job.state === 'retrying');
    // A worker may have claimed the job a moment before the video says `processing`: until it does,
    // the new attempt has not visibly started, so a queued video reports the attempts made so far.
    const attempts = job ? (v.status === 'queued' && job.state === 'running' ? job.attempts - 1 : job.attempts) : 0;
    return {
      video_id: v.id,
      status: v.status,
      stage: v.stage,
      progress: Math.round(v.progress),
      attempts,
      error: v.error,
      queue_position: queued ? await this.queue.repo.position(job) : null,
    };
  }

  async publishSnapshot(videoId: string): Promise<void> {
    const v = await this.repo.findById(videoId);
    if (v) await this.bus.publish(await this.snapshot(v)).catch(() => {});
  }

  // ── Transitions driven by the pipeline ──

  /** An attempt starts: false when the video is gone or no longer waits for processing. */
  async startProcessing(videoId: string): Promise<VideoRow | null> {
    const ok = await this.repo.update(this.db.kysely, videoId, { status: 'processing', stage: null, progress: 0, error: null, playable_key: null }, ['queued', 'processing']);
    return ok ? ((await this.repo.findById(videoId)) ?? null) : null;
  }

  async recordProgress(videoId: string, stage: string, progress: number, withEvent: boolean, ownerId: string): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      await this.repo.update(trx, videoId, { stage, progress }, ['processing']);
      if (withEvent) await appendEvent(trx, 'video.progress', videoId, { video_id: videoId, owner_id: ownerId, stage, progress, timestamp: new Date().toISOString() });
    });
  }

  async recordMetadata(videoId: string, m: Pick<VideoRow, 'duration_seconds' | 'width' | 'height' | 'fps' | 'has_audio' | 'video_codec' | 'audio_codec'>): Promise<void> {
    await this.repo.update(this.db.kysely, videoId, m, ['processing']);
  }

  async setPlayable(videoId: string, key: string): Promise<void> {
    await this.repo.update(this.db.kysely, videoId, { playable_key: key }, ['processing']);
  }

  /** The outputs are stored: the video's row points at them (still `processing`). */
  async recordOutputs(videoId: string, out: ProcessedOutputs): Promise<void> {
    await this.repo.update(
      this.db.kysely,
      videoId,
      {
        run_id: out.runId,
        renditions: JSON.stringify(out.renditions),
        encoding_mode: out.encodingMode,
        manifest_key: out.manifestKey,
        thumbnail_key: out.thumbnailKey,
        storyboard_key: out.storyboardKey,
        storyboard_vtt_key: out.storyboardVttKey,
      },
      ['processing'],
    );
  }

  /**
   * The video becomes `ready` with `video.ready` in the same transaction. Its stage is already
   * `cleanup` (what is left is removing temp files), so a reader never sees a ready video mid-pipeline.
   */
  async publish(v: VideoRow, renditionCount: number, durationSeconds: number | null): Promise<boolean> {
    const ownerName = await this.indexer.ownerName(v.owner_id);
    return this.db.kysely.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      const ok = await this.repo.update(trx, v.id, { status: 'ready', stage: 'cleanup', progress: 100, playable_key: null, ready_at: now }, ['processing']);
      if (ok) await this.indexer.index(trx, (await this.repo.findById(v.id, trx))!, ownerName);
      if (ok) await appendEvent(trx, 'video.ready', v.id, { video_id: v.id, owner_id: v.owner_id, duration_seconds: durationSeconds, renditions: renditionCount, timestamp: now });
      return ok;
    });
  }

  /** In the queue's failure transaction: failed for good (with `video.failed`), or back to queued for a retry. */
  async onJobFailure(trx: Transaction<Tables>, videoId: string, failure: { message: string; final: boolean }): Promise<void> {
    const v = await this.repo.findById(videoId, trx);
    if (!v) return;
    if (failure.final) {
      await this.repo.update(trx, videoId, { status: 'failed', error: failure.message, playable_key: null }, ['queued', 'processing']);
      await appendEvent(trx, 'video.failed', videoId, { video_id: videoId, owner_id: v.owner_id, error: failure.message, timestamp: new Date().toISOString() });
    } else {
      await this.repo.update(trx, videoId, { status: 'queued', stage: null, progress: 0, error: failure.message, playable_key: null }, ['queued', 'processing']);
    }
  }

  async onJobRequeued(trx: Transaction<Tables>, videoId: string): Promise<void> {
    await this.repo.update(trx, videoId, { status: 'queued', stage: null, progress: 0, error: null, playable_key: null }, ['queued', 'processing', 'failed']);
  }

  /** Admin retry of a failed job. */
  async retryJob(jobId: string): Promise<JobRow> {
    const existing = await this.queue.repo.findById(jobId);
    if (!existing) throw new NotFoundError(`No job ${jobId}.`);
    if (existing.state !== 'failed') throw new ConflictError(`Job ${jobId} is ${existing.state}; only failed jobs can be retried.`);
    const job = await this.queue.retry(jobId);
    if (!job) throw new ConflictError(`Job ${jobId} is no longer failed.`);
    if (job.subject_id) await this.publishSnapshot(job.subject_id);
    return job;
  }

  isFinished(s: ProgressSnapshot): boolean {
    return isTerminal(s);
  }
}

function blankVideo(v: Pick<VideoRow, 'id' | 'owner_id' | 'title' | 'description' | 'status' | 'created_at'>): VideoRow {
  return {
    ...v,
    source_key: null,
    source_size: null,
    source_stream_id: null,
    upload_id: null,
    duration_seconds: null,
    width: null,
    height: null,
    fps: null,
    has_audio: null,
    video_codec: null,
    audio_codec: null,
    run_id: null,
    renditions: null,
    encoding_mode: null,
    manifest_key: null,
    thumbnail_key: null,
    storyboard_key: null,
    storyboard_vtt_key: null,
    playable_key: null,
    stage: null,
    progress: 0,
    error: null,
    updated_at: v.created_at,
    ready_at: null,
    visibility: 'public',
    tags: '[]',
    hidden_at: null,
    hidden_reason: null,
  };
}
