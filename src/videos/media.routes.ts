// Serves a video's public objects (HLS playlists and segments, poster, storyboard) from storage:
// content types, single byte ranges, cache headers (segments immutable; playlists that may still
// grow no-cache). On S3, media files redirect to a presigned URL; playlists are always served here,
// so their relative segment URIs keep pointing at this route. The source file is never served.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { NovaApp } from '../capability.js';
import { AppError, NotFoundError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import { contentTypeFor, type ByteRange } from '../infra/storage/storage.js';
import { keyForPublicPath, runPrefix } from './videos.keys.js';
import type { VideosService } from './videos.service.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

class RangeNotSatisfiableError extends AppError {
  constructor(size: number) {
    super(416, 'Range Not Satisfiable', `The requested range is outside the object's ${size} bytes.`, undefined, { 'content-range': `bytes */${size}` });
  }
}

/** Parses one `bytes=` range against a size; null means "send it all" (absent or multi-range). */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new RangeNotSatisfiableError(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new RangeNotSatisfiableError(size);
  return { start, end };
}

export function registerMediaRoutes(app: NovaApp, videos: VideosService, opts: { mediaUrlTtlSeconds: number }): void {
  const storage = videos.storage;

  app.get('/api/v1/videos/:id/media/*', {
    schema: {
      tags: ['videos'],
      summary: 'A video\'s HLS playlists, segments, poster and storyboard (Range supported)',
      params: Type.Object({ id: Type.String({ format: 'uuid' }), '*': Type.String() }),
      response: { ...problems(404, 416) },
    },
  }, async (req: FastifyRequest<{ Params: { id: string; '*': string } }>, reply: FastifyReply) => {
    const { id } = req.params;
    const key = keyForPublicPath(id, req.params['*']);
    if (!key) throw new NotFoundError('No such media file.');
    const video = await videos.repo.findById(id);
    if (!video) throw new NotFoundError('No such media file.');
    const playlist = key.endsWith('.m3u8');

    if (!playlist && storage.kind === 's3') {
      const url = await storage.presignedUrl(key, opts.mediaUrlTtlSeconds);
      if (url) {
        if (!(await storage.stat(key))) throw new NotFoundError('No such media file.');
        return reply.code(302).header('location', url).header('cache-control', 'private, no-store').send();
      }
    }

    const info = await storage.stat(key);
    if (!info) throw new NotFoundError('No such media file.');
    // A published run's playlists are final; others (an EVENT playlist mid-transcode) change.
    const finalPlaylist = video.status === 'ready' && video.run_id !== null && key.startsWith(runPrefix(id, video.run_id));
    reply.header('content-type', contentTypeFor(key));
    reply.header('cache-control', playlist ? (finalPlaylist ? 'public, max-age=300' : 'no-cache') : IMMUTABLE);
    reply.header('accept-ranges', 'bytes');
    if (info.lastModified) reply.header('last-modified', info.lastModified.toUTCString());
    reply.header('etag', `"${info.size.toString(16)}-${(info.lastModified?.getTime() ?? 0).toString(16)}"`);

    const range = parseRange(req.headers.range, info.size);
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`).header('content-length', String(range.end - range.start + 1));
      return reply.send(await storage.get(key, range));
    }
    reply.header('content-length', String(info.size));
    return reply.send(await storage.get(key));
  });
}
