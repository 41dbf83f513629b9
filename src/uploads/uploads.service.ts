// Resumable uploads (tus 1.0.0 on @tus/server): who may write which upload, and what happens when
// one completes: the file becomes the video's source and the video is queued (VideosService). A
// completed upload whose completion was not recorded (crash, lost response) is finished on HEAD.
// A video has one upload at a time: creating one terminates and removes the one it had, so
// repeated creations cannot pile up files, and deleting the video removes every upload it has.
// Only the upload the video records becomes its source; a replaced one that finishes is refused.
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { Server, type DataStore, type Locker, type Upload } from '@tus/server';
import type { AuthUser } from '../accounts/accounts.service.js';
import { requireUser } from '../http/auth.js';
import { AppError, ConflictError, toAppError, ForbiddenError, NotFoundError, problemType, type Problem } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import type { VideoRow, VideosRepository } from '../videos/videos.repository.js';
import type { VideosService } from '../videos/videos.service.js';
import type { UploadFiles } from './uploads.files.js';
import type { UploadRef, UploadStore } from './uploads.store.js';

export const UPLOADS_PATH = '/api/v1/uploads';

export interface UploadsOptions {
  maxBytes: number;
  publicUrl?: string;
}

/** Compare-and-set rounds before a creation gives up (only creations racing for one video loop). */
const CLAIM_ATTEMPTS = 20;

/** Parses /api/v1/uploads/<video_id>[/<key>] from a request URL (absolute or not). */
function pathParts(url: string): string[] {
  const pathname = new URL(url, 'http://x').pathname;
  if (!pathname.startsWith(`${UPLOADS_PATH}/`)) return [];
  return pathname
    .slice(UPLOADS_PATH.length + 1)
    .split('/')
    .filter(Boolean);
}

/**
 * The store as @tus/server sees it, except that a created upload is checked against the video once
 * it exists: one that lost a race (replaced by a newer creation, or its video deleted meanwhile)
 * is removed before the client hears of it.
 */
function checkingCreate(datastore: DataStore, check: (upload: Upload) => Promise<void>): DataStore {
  return new Proxy(datastore, {
    get(target, prop) {
      if (prop === 'create') {
        return async (upload: Upload) => {
          const created = await target.create(upload);
          await check(created);
          return created;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value.bind(target) as unknown) : value;
    },
  });
}

export class UploadsService {
  readonly tus: Server;
  /**
   * Each request's base URL as Fastify derived it, for tus's generateUrl (which sees a copy of the
   * request, with the Node request beside it).
   */
  readonly baseUrls = new WeakMap<IncomingMessage, string>();
  private readonly store: UploadStore;
  private readonly locker: Locker;

  constructor(
    private readonly files: UploadFiles,
    private readonly repo: Pick<VideosRepository, 'uploadSlot' | 'swapUpload'>,
    private readonly videos: VideosService,
    private readonly opts: UploadsOptions,
    private readonly logger: Logger,
  ) {
    this.store = files.store;
    this.locker = files.locker;
    const store = this.store;
    this.tus = new Server({
      path: UPLOADS_PATH,
      datastore: checkingCreate(store.datastore, (upload) => this.confirmCreated(upload)),
      maxSize: opts.maxBytes,
      locker: this.locker,
      // Forwarded headers are not read here: the base URL comes from PUBLIC_URL, or from Fastify,
      // which believes X-Forwarded-Host/-Proto only from the proxies TRUST_PROXY names (`baseUrls`).
      respectForwardedHeaders: false,
      // A finished upload is the video's source: it cannot be terminated through tus.
      disableTerminationForFinishedUploads: true,
      namingFunction: (req) => {
        const [videoId] = pathParts(req.url);
        return store.newId(videoId);
      },
      generateUrl: (req, { proto, host, path, id }) => {
        const ref = store.refOf(id);
        const raw = (req as { node?: { req?: IncomingMessage } }).node?.req;
        const base = opts.publicUrl ?? (raw && this.baseUrls.get(raw)) ?? `${proto}://${host}`;
        return `${base}${path}/${ref?.videoId}/${ref?.key}`;
      },
      getFileIdFromRequest: (req) => {
        const [videoId, key] = pathParts(req.url);
        return videoId && key ? store.idFor({ videoId, key }) : undefined;
      },
      // Runs before the upload is stored: the video records it first, then its earlier upload goes.
      onUploadCreate: async (_req, upload) => {
        const ref = store.refOf(upload.id);
        if (!ref) throw new NotFoundError('Not an upload URL of a video.');
        const previous = await this.claim(ref.videoId, upload.id);
        if (previous) await this.files.terminate(previous);
        return {};
      },
      onUploadFinish: async (req, upload) => {
        try {
          await this.complete(upload.id, upload.size ?? upload.offset);
          return {};
        } catch (thrown) {
          // A refusal answers problem+json, as the rest of the API does (tus errors are plain text).
          const err = toAppError(thrown);
          if (!(err instanceof AppError)) throw thrown;
          const problem: Problem = { type: problemType(err.status), title: err.title, status: err.status, detail: err.detail, instance: new URL(req.url, 'http://x').pathname };
          return { status_code: err.status, headers: { 'Content-Type': 'application/problem+json; charset=utf-8' }, body: JSON.stringify(problem) };
        }
      },
      onResponseError: (_req, thrown) => {
        const err = toAppError(thrown);
        if (err instanceof AppError) return { status_code: err.status, body: `${err.detail}\n` };
        if (err instanceof Error && !('status_code' in err)) {
          this.logger.error({ err }, 'upload failed');
          return { status_code: 500, body: 'The upload could not be stored; retry from HEAD.\n' };
        }
        return undefined;
      },
    });
  }

  /** Checks the caller may use this upload URL; returns the video it belongs to. */
  async authorize(req: FastifyRequest, ref: { videoId: string; key?: string }): Promise<{ user: AuthUser; video: VideoRow }> {
    const user = requireUser(req);
    const video = await this.videos.repo.findById(ref.videoId);
    if (!video || !this.videos.canView(video, user)) throw new NotFoundError(`No video ${ref.videoId}.`);
    if (video.owner_id !== user.id) throw new ForbiddenError('Only the owner of this video can upload its file.');
    const writes = req.method === 'POST' || req.method === 'PATCH';
    if (writes && video.status !== 'waiting_upload') throw new ConflictError(`The video's file is already uploaded (status ${video.status}).`);
    return { user, video };
  }

  /** On HEAD: a finished upload whose completion was never recorded is completed now. */
  async finishIfComplete(video: VideoRow, ref: UploadRef): Promise<void> {
    if (video.status !== 'waiting_upload') return;
    const id = this.store.idFor(ref);
    let upload: Upload;
    try {
      upload = await this.store.datastore.getUpload(id);
    } catch {
      return;
    }
    if (upload.size !== undefined && upload.offset === upload.size) await this.complete(id, upload.size);
  }

  /**
   * Makes a finished upload its video's source, if the video still records it and waits for its
   * file; otherwise the upload is removed and refused. Every upload of a video adopts to the same
   * source key, so the completions of one video take turns under a lock: between one's check and
   * its compare-and-set no other can adopt, and one that lost removes only what it adopted itself.
   */
  private async complete(id: string, size: number): Promise<void> {
    const ref = this.store.refOf(id);
    if (!ref) return;
    const lock = this.locker.newLock(`finish:${ref.videoId}`);
    await lock.lock(new AbortController().signal, async () => {
      // Not given up on request: an adoption is either recorded or undone before the lock goes.
    });
    let accepted: boolean;
    try {
      accepted = await this.adoptIfRecorded(ref.videoId, id, size);
    } finally {
      await lock.unlock();
    }
    if (accepted) return;
    await this.store.discard(id);
    const slot = await this.repo.uploadSlot(ref.videoId);
    this.logger.info({ video_id: ref.videoId, upload_id: id }, 'removed a finished upload its video did not take');
    if (!slot) throw new NotFoundError(`No video ${ref.videoId}.`);
    if (slot.status !== 'waiting_upload') throw new ConflictError(`The video's file is already uploaded (status ${slot.status}).`);
    throw new ConflictError('Another creation for this video replaced this upload before it finished: continue the upload that creation answered with, or POST again to start over.');
  }

  /** True once the video took this upload as its source (now, or in an earlier completion). */
  private async adoptIfRecorded(videoId: string, id: string, size: number): Promise<boolean> {
    const slot = await this.repo.uploadSlot(videoId);
    if (slot?.upload_id !== id) return false;
    if (slot.status !== 'waiting_upload') return true;
    let source: { key: string; size: number };
    try {
      source = await this.store.adopt(id, size);
    } catch (err) {
      // The creation that replaced it may have removed its file meanwhile.
      if ((await this.repo.uploadSlot(videoId))?.upload_id !== id) return false;
      throw err;
    }
    if (await this.videos.acceptUpload(videoId, id, source)) return true;
    await this.store.unadopt(id);
    return false;
  }

  /** Records `id` as the video's upload; returns the upload it replaces, if any. */
  private async claim(videoId: string, id: string): Promise<string | null> {
    for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
      const slot = await this.repo.uploadSlot(videoId);
      if (!slot) throw new NotFoundError(`No video ${videoId}.`);
      if (slot.status !== 'waiting_upload') throw new ConflictError(`The video's file is already uploaded (status ${slot.status}).`);
      if (await this.repo.swapUpload(videoId, slot.upload_id, id)) return slot.upload_id;
    }
    throw new ConflictError('Other uploads of this video are being created at the same moment; retry.');
  }

  /** A stored upload that is no longer its video's upload is removed, and its creation refused. */
  private async confirmCreated(upload: Upload): Promise<void> {
    const ref = this.store.refOf(upload.id);
    if (!ref) return;
    const slot = await this.repo.uploadSlot(ref.videoId);
    if (slot?.status === 'waiting_upload' && slot.upload_id === upload.id) return;
    // This request holds the upload's lock, so nothing else writes it.
    await this.store.discard(upload.id);
    if (!slot) throw new NotFoundError(`No video ${ref.videoId}.`);
    if (slot.status !== 'waiting_upload') throw new ConflictError(`The video's file is already uploaded (status ${slot.status}).`);
    throw new ConflictError('Another creation for this video replaced this upload while it was being stored: continue the upload that creation answered with, or POST again to start over.');
  }

  async cleanupExpired(): Promise<number> {
    return this.tus.cleanUpExpiredUploads();
  }
}
