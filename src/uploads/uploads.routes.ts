// Mounts the tus server under /api/v1/uploads. Request bodies are never parsed or buffered by
// Fastify: the raw request goes to @tus/server, which streams it into the store. Auth and ownership
// are checked first, so a refused request gets problem+json. Expired uploads are swept periodically.
// A video has one upload at a time: a new creation replaces (terminates) the earlier one.
// With Redis, upload locks are shared by every API node (an upload may continue on any of them).
import { Type } from 'typebox';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendNodeResponse } from 'srvx/node';
import { problemType, type Problem } from '../http/errors.js';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { problems } from '../http/problem.schema.js';
import type { VodServices } from '../videos/videos.wiring.js';
import { UPLOADS_PATH, UploadsService } from './uploads.service.js';
import { baseUrl } from '../videos/videos.routes.js';
import { RedisLocker } from './uploads.locker.js';
import { UploadFiles } from './uploads.files.js';
import { FileUploadStore, S3UploadStore, type UploadStore } from './uploads.store.js';
import { tusRequest } from './uploads.request.js';

export interface UploadsCapability extends Capability {
  /** Removes expired unfinished uploads now (also runs on a timer in API processes). */
  cleanupExpired(): Promise<number>;
}

/** A tus error answer as problem+json: its status, and its text as the detail. */
async function asProblem(response: Response, url: string): Promise<Response> {
  if (response.status < 400 || (response.headers.get('content-type') ?? '').startsWith('application/problem+json')) return response;
  const text = (await response.text()).trim();
  const problem: Problem = {
    type: problemType(response.status),
    title: STATUS_CODES[response.status] ?? 'Error',
    status: response.status,
    detail: text ? (/[.!?]$/.test(text) ? text : `${text}.`) : `The upload request was refused (${response.status}).`,
    instance: url.split('?')[0],
  };
  const headers = new Headers(response.headers);
  const body = JSON.stringify(problem);
  headers.set('content-type', 'application/problem+json; charset=utf-8');
  headers.set('content-length', String(Buffer.byteLength(body)));
  return new Response(body, { status: response.status, headers });
}

/**
 * The upload files and their locks, built before the videos service (which removes a deleted
 * video's uploads through them) and handed to the capability below.
 */
export function createUploadFiles(c: Container): UploadFiles {
  const cfg = c.config;
  const expiryMs = cfg.uploadExpirySeconds * 1000;
  const store: UploadStore = cfg.uploadStore === 's3' && cfg.s3 ? new S3UploadStore(cfg.s3, expiryMs) : new FileUploadStore(cfg.uploadDir, c.storage, expiryMs);
  const logger = c.logger.child({ module: 'uploads' });
  const locker = c.redis ? new RedisLocker(c.redis, { prefix: cfg.queuePrefix, ttlMs: cfg.uploadLockSeconds * 1000 }, logger) : undefined;
  return new UploadFiles(store, locker, logger);
}

export function uploadsCapability(c: Container, vod: VodServices, files: UploadFiles): UploadsCapability {
  const cfg = c.config;
  const { videos } = vod;
  const logger = c.logger.child({ module: 'uploads' });
  const service = new UploadsService(files, videos.repo, videos, { maxBytes: cfg.uploadMaxBytes, publicUrl: cfg.publicUrl }, logger);
  let sweeper: NodeJS.Timeout | null = null;

  const cleanupExpired = async (): Promise<number> => {
    try {
      return await service.cleanupExpired();
    } catch (err) {
      logger.warn({ err }, 'removing expired uploads failed');
      return 0;
    }
  };

  const handOver = async (req: FastifyRequest, reply: FastifyReply) => {
    service.baseUrls.set(req.raw, baseUrl(req, cfg.publicUrl));
    reply.hijack();
    // What @tus/server's handle() does, with its plain-text refusals (412, 400, 409, 413...)
    // turned into problem+json on the way out, as every other error of the API is, and a body
    // stream that does not copy the upload (uploads.request.ts).
    const response = await service.tus.handleWeb(tusRequest(req.raw, reply.raw));
    await sendNodeResponse(reply.raw, await asProblem(response, req.url));
  };

  return {
    name: 'uploads',
    cleanupExpired,
    routes(app: NovaApp) {
      // Bodies stay unread streams for tus (PATCH's application/offset+octet-stream, or anything).
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
      const tags = ['uploads'];
      const security = [{ bearer: [] }];
      const VideoParams = Type.Object({ video_id: Type.String({ format: 'uuid' }) });
      const UploadParams = Type.Object({ video_id: Type.String({ format: 'uuid' }), key: Type.String({ pattern: '^[0-9a-f]{32}$' }) });

      app.options(UPLOADS_PATH, { schema: { tags, summary: 'tus capabilities: Tus-Version, Tus-Extension, Tus-Max-Size' } }, handOver);
      app.options(`${UPLOADS_PATH}/:video_id`, { schema: { tags, summary: 'tus capabilities', params: VideoParams } }, handOver);
      app.options(`${UPLOADS_PATH}/:video_id/:key`, { schema: { tags, summary: 'tus capabilities', params: UploadParams } }, handOver);

      app.post(
        `${UPLOADS_PATH}/:video_id`,
        {
          schema: {
            tags,
            summary: "tus creation (with optional data): start the upload of this video's file (owner)",
            description:
              'A video has one upload at a time: creating one terminates and removes the upload it had ' + '(to continue that one, HEAD and PATCH its URL instead). 409 once the file is uploaded.',
            security,
            params: VideoParams,
            response: problems(401, 403, 404, 409, 413),
          },
        },
        async (req, reply) => {
          await service.authorize(req, { videoId: req.params.video_id });
          return handOver(req, reply);
        },
      );

      app.route({
        method: ['HEAD', 'PATCH', 'DELETE'],
        url: `${UPLOADS_PATH}/:video_id/:key`,
        schema: { tags, summary: 'tus: offset (HEAD), append (PATCH), terminate (DELETE) an upload (owner)', security, params: UploadParams, response: problems(401, 403, 404, 409) },
        handler: async (req: FastifyRequest<{ Params: { video_id: string; key: string } }>, reply: FastifyReply) => {
          const ref = { videoId: req.params.video_id, key: req.params.key };
          const { video } = await service.authorize(req, ref);
          if (req.method === 'HEAD') await service.finishIfComplete(video, ref);
          return handOver(req, reply);
        },
      });
    },
    async start(roles: Roles) {
      if (!roles.api) return;
      void cleanupExpired();
      // Often enough that an expired upload does not linger long past its expiry.
      const every = Math.min(cfg.uploadExpirySeconds / 4, 15 * 60) * 1000;
      sweeper = setInterval(() => void cleanupExpired(), every);
      sweeper.unref();
    },
    async stop() {
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
      await files.close();
    },
  };
}
