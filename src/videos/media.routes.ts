// Serves a video's public objects (HLS playlists and segments, poster, storyboard) from storage:
// content types, single byte ranges, cache headers (segments immutable; playlists that may still
// grow no-cache). On S3, media files redirect to a presigned URL; playlists are always served here,
// so their relative segment URIs keep pointing at this route. The source file is never served.
// A private video's media need its signed playback token on every URL: playlists are rewritten so
// each child URL carries it, and S3 redirects are presigned for no longer than the token lives.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { NovaApp } from '../capability.js';
import { AppError, ForbiddenError, NotFoundError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import { contentTypeFor, type ByteRange } from '../infra/storage/storage.js';
import { signPlaylist, type PlaybackTokens } from './playback.tokens.js';
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

const TOKEN_REFUSED = {
  missing: 'This video is private: its media URLs need the token from its playback URL.',
  invalid: 'The playback token is not valid for this video.',
  expired: 'The playback token has expired: ask for the playback URL again.',
} as const;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** A WebVTT storyboard whose image URLs carry the token (`sprite.jpg#xywh=…` cues). */
function signVtt(text: string, token: string): string {
  return text
    .split('\n')
    .map((line) => {
      const t = line.trim();
      if (!t || t.startsWith('WEBVTT') || t.includes('-->') || /^\d+$/.test(t) || /^[a-z][a-z0-9+.-]*:/i.test(t)) return line;
      const [uri, frag] = t.split('#', 2);
      return `${uri}${uri.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}${frag !== undefined ? `#${frag}` : ''}`;
    })
    .join('\n');
}

export function registerMediaRoutes(app: NovaApp, videos: VideosService, tokens: PlaybackTokens, opts: { mediaUrlTtlSeconds: number }): void {
  const storage = videos.storage;

  app.get(
    '/api/v1/videos/:id/media/*',
    {
      schema: {
        tags: ['videos'],
        summary: "A video's HLS playlists, segments, poster and storyboard (Range supported)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }), '*': Type.String() }),
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200, description: 'The signed playback token of a private video' })) }),
        response: { ...problems(403, 404, 416) },
      },
    },
    async (req: FastifyRequest<{ Params: { id: string; '*': string }; Querystring: { token?: string } }>, reply: FastifyReply) => {
      const { id } = req.params;
      const key = keyForPublicPath(id, req.params['*']);
      if (!key) throw new NotFoundError('No such media file.');
      const video = await videos.repo.findById(id);
      if (!video) throw new NotFoundError('No such media file.');
      const playlist = key.endsWith('.m3u8');
      const vtt = key.endsWith('.vtt');

      let token: string | undefined;
      let tokenExpiresAt = Infinity;
      // A hidden video's media need the token too: only its owner and admins are handed one.
      if (video.visibility === 'private' || video.hidden_at) {
        const check = await tokens.verify(id, req.query.token);
        if (!check.ok) throw new ForbiddenError(TOKEN_REFUSED[check.reason]);
        token = req.query.token;
        tokenExpiresAt = check.expiresAt;
      }

      if (!playlist && !vtt && storage.kind === 's3') {
        // A presigned URL must not outlive the token that led to it.
        const ttl = Math.max(1, Math.min(opts.mediaUrlTtlSeconds, Math.floor((tokenExpiresAt - Date.now()) / 1000)));
        const url = await storage.presignedUrl(key, ttl);
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
      if (token) {
        // Rewritten per token, and never kept by shared caches.
        reply.header('cache-control', 'private, no-store');
        if (playlist || vtt) {
          const text = await readAll(await storage.get(key));
          return reply.send(playlist ? signPlaylist(text, token) : signVtt(text, token));
        }
      } else {
        reply.header('cache-control', playlist ? (finalPlaylist ? 'public, max-age=300' : 'no-cache') : IMMUTABLE);
      }
      reply.header('accept-ranges', 'bytes');
      if (info.lastModified) reply.header('last-modified', info.lastModified.toUTCString());
      reply.header('etag', `"${info.size.toString(16)}-${(info.lastModified?.getTime() ?? 0).toString(16)}"`);

      const range = parseRange(req.headers.range, info.size);
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
          .header('content-length', String(range.end - range.start + 1));
        return reply.send(await storage.get(key, range));
      }
      reply.header('content-length', String(info.size));
      return reply.send(await storage.get(key));
    },
  );
}
