// Resumable uploads (tus 1.0.0 on @tus/server): who may write which upload, and what happens when
// one completes: the file becomes the video's source and the video is queued (VideosService). A
// completed upload whose completion was not recorded (crash, lost response) is finished on HEAD.
import type { FastifyRequest } from 'fastify';
import { Server, type Locker, type Upload } from '@tus/server';
import type { AuthUser } from '../accounts/accounts.service.js';
import { requireUser } from '../http/auth.js';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import type { VideoRow } from '../videos/videos.repository.js';
import type { VideosService } from '../videos/videos.service.js';
import type { UploadRef, UploadStore } from './uploads.store.js';

export const UPLOADS_PATH = '/api/v1/uploads';

export interface UploadsOptions {
  maxBytes: number;
  publicUrl?: string;
  /** Shared by the API nodes (Redis); @tus/server's in-process MemoryLocker when unset. */
  locker?: Locker;
}

/** Parses /api/v1/uploads/<video_id>[/<key>] from a request URL (absolute or not). */
function pathParts(url: string): string[] {
  const pathname = new URL(url, 'http://x').pathname;
  if (!pathname.startsWith(`${UPLOADS_PATH}/`)) return [];
  return pathname.slice(UPLOADS_PATH.length + 1).split('/').filter(Boolean);
}

export class UploadsService {
  readonly tus: Server;

  constructor(
    private readonly store: UploadStore,
    private readonly videos: VideosService,
    private readonly opts: UploadsOptions,
    private readonly logger: Logger,
  ) {
    this.tus = new Server({
      path: UPLOADS_PATH,
      datastore: store.datastore,
      maxSize: opts.maxBytes,
      ...(opts.locker ? { locker: opts.locker } : {}),
      respectForwardedHeaders: true,
      // A finished upload is the video's source: it cannot be terminated through tus.
      disableTerminationForFinishedUploads: true,
      namingFunction: (req) => {
        const [videoId] = pathParts(req.url);
        return store.newId(videoId);
      },
      generateUrl: (_req, { proto, host, path, id }) => {
        const ref = store.refOf(id);
        return `${opts.publicUrl ?? `${proto}://${host}`}${path}/${ref?.videoId}/${ref?.key}`;
      },
      getFileIdFromRequest: (req) => {
        const [videoId, key] = pathParts(req.url);
        return videoId && key ? store.idFor({ videoId, key }) : undefined;
      },
      onUploadCreate: async (_req, upload) => {
        const ref = store.refOf(upload.id);
        if (ref) await videos.repo.update(videos.repo.kysely, ref.videoId, { upload_id: upload.id }, ['waiting_upload']);
        return {};
      },
      onUploadFinish: async (_req, upload) => {
        await this.complete(upload.id, upload.size ?? upload.offset);
        return {};
      },
      onResponseError: (_req, err) => {
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

  private async complete(id: string, size: number): Promise<void> {
    const ref = this.store.refOf(id);
    if (!ref) return;
    const source = await this.store.adopt(id, size);
    const accepted = await this.videos.acceptUpload(ref.videoId, source);
    if (!accepted) this.logger.info({ video_id: ref.videoId }, 'upload finished for a video that no longer waits for one');
  }

  /** Removes a video's unfinished upload (the finished one is its source and goes with its objects). */
  async removeFor(video: VideoRow): Promise<void> {
    if (!video.upload_id) return;
    await this.store.datastore.remove(video.upload_id).catch(() => {});
  }

  async cleanupExpired(): Promise<number> {
    return this.tus.cleanUpExpiredUploads();
  }
}
