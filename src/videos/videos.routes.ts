// HTTP for videos: create (with its tus upload endpoint), read, list, delete, playback; plus the
// progress views and media serving registered from their own modules. Rules live in VideosService.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { requireUser } from '../http/auth.js';
import { ConflictError, UnauthorizedError, ValidationError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import { registerMediaRoutes } from './media.routes.js';
import { registerProgressRoutes } from './progress.routes.js';
import type { VideoRow } from './videos.repository.js';
import { mediaUrl, renditionsOf, videoJson } from './videos.json.js';
import { CreateVideoBody, CreateVideoResult, IdParams, ListQuery, PlaybackSchema, UpdateVideoBody, VideoList, VideoSchema, VideoWithOwner } from './videos.schemas.js';
import type { VodServices } from './videos.wiring.js';

export function baseUrl(req: FastifyRequest, publicUrl?: string): string {
  return publicUrl ?? `${req.protocol}://${req.host}`;
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ValidationError('The cursor is not one this server issued.', [{ field: 'cursor', message: 'is invalid' }]);
  return id;
}

export function videosCapability(c: Container, vod: VodServices): Capability & { vod: VodServices } {
  const { videos, bus, tokens } = vod;
  const cfg = c.config;
  // A private video's media URLs carry a playback token; others' need none.
  const tokenFor = async (v: VideoRow): Promise<string | undefined> => (v.visibility === 'private' || v.hidden_at ? tokens.sign(v.id) : undefined);
  return {
    name: 'videos',
    vod,
    routes(app: NovaApp) {
      const tags = ['videos'];
      const auth = [{ bearer: [] }];

      app.post(
        '/api/v1/videos',
        {
          schema: { tags, summary: 'Create a video and get its tus upload endpoint', security: auth, body: CreateVideoBody, response: { 201: CreateVideoResult, ...problems(400, 401, 409) } },
        },
        async (req, reply) => {
          const v = await videos.create(requireUser(req), req.body);
          const base = baseUrl(req, cfg.publicUrl);
          return reply.code(201).send({
            video: videoJson(v, base, await tokenFor(v)),
            upload: { url: `${base}/api/v1/uploads/${v.id}`, protocol: 'tus' as const, max_size: cfg.uploadMaxBytes, expires_in_seconds: cfg.uploadExpirySeconds },
          });
        },
      );

      app.get(
        '/api/v1/videos/:id',
        {
          schema: { tags, summary: "A video, with its uploader's username (others see only ready videos)", params: IdParams, response: { 200: VideoWithOwner, ...problems(404) } },
        },
        async (req) => {
          const v = await videos.getVisible(req.params.id, req.user);
          const names = await c.accounts.usernames([v.owner_id]);
          return { ...videoJson(v, baseUrl(req, cfg.publicUrl), await tokenFor(v)), owner_username: names.get(v.owner_id) ?? '' };
        },
      );

      app.patch(
        '/api/v1/videos/:id',
        {
          schema: {
            tags,
            summary: "Change a video's title, description, tags or visibility (owner or admin)",
            security: auth,
            params: IdParams,
            body: UpdateVideoBody,
            response: { 200: VideoSchema, ...problems(400, 401, 403, 404) },
          },
        },
        async (req) => {
          const v = await videos.update(req.params.id, requireUser(req), req.body);
          return videoJson(v, baseUrl(req, cfg.publicUrl), await tokenFor(v));
        },
      );

      app.get(
        '/api/v1/videos',
        {
          schema: { tags, summary: 'Videos, newest first, a page at a time', querystring: ListQuery, response: { 200: VideoList, ...problems(400, 401) } },
        },
        async (req) => {
          let ownerId = req.query.owner;
          if (ownerId === 'me') {
            if (!req.user) throw new UnauthorizedError('owner=me needs a bearer token.');
            ownerId = req.user.id;
          }
          const page = await videos.list(req.user, {
            ownerId,
            status: req.query.status,
            listedOnly: req.query.sort === 'recent',
            cursor: req.query.cursor ? decodeCursor(req.query.cursor) : undefined,
            limit: req.query.limit,
          });
          const base = baseUrl(req, cfg.publicUrl);
          const items = await Promise.all(page.items.map(async (v) => videoJson(v, base, await tokenFor(v))));
          return { items, next_cursor: page.nextCursor ? encodeCursor(page.nextCursor) : null };
        },
      );

      app.delete(
        '/api/v1/videos/:id',
        {
          schema: {
            tags,
            summary: 'Delete a video and every stored object (owner or admin)',
            security: auth,
            params: IdParams,
            response: { 204: Type.Null({ description: 'Deleted' }), ...problems(401, 403, 404) },
          },
        },
        async (req, reply) => {
          await videos.delete(req.params.id, requireUser(req));
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/api/v1/videos/:id/playback',
        {
          schema: {
            tags,
            summary: 'HLS playback: the master playlist (409 until ready, unless an early EVENT playlist already plays)',
            params: IdParams,
            response: { 200: PlaybackSchema, ...problems(404, 409) },
          },
        },
        async (req) => {
          const v = await videos.getVisible(req.params.id, req.user);
          const base = baseUrl(req, cfg.publicUrl);
          const token = await tokenFor(v);
          const expires = token ? new Date(Number(token.split('.')[0]) * 1000).toISOString() : null;
          if (v.status === 'ready' && v.manifest_key) {
            return {
              status: 'ready' as const,
              manifest_url: mediaUrl(base, v.id, v.manifest_key, token) ?? '',
              renditions: renditionsOf(v, base, token),
              thumbnail_url: mediaUrl(base, v.id, v.thumbnail_key, token),
              storyboard_url: mediaUrl(base, v.id, v.storyboard_vtt_key, token),
              duration_seconds: v.duration_seconds,
              expires_at: expires,
            };
          }
          if (v.status === 'processing' && v.playable_key) {
            return {
              status: 'processing' as const,
              expires_at: expires,
              manifest_url: mediaUrl(base, v.id, v.playable_key, token) ?? '',
              renditions: [],
              thumbnail_url: null,
              storyboard_url: null,
              duration_seconds: v.duration_seconds,
            };
          }
          throw new ConflictError(`The video is ${v.status.replace('_', ' ')}; playback starts once it is processed.`);
        },
      );

      registerProgressRoutes(app, videos, cfg.http, c.metrics);
      registerMediaRoutes(app, videos, tokens, { mediaUrlTtlSeconds: cfg.mediaUrlTtlSeconds });
    },
    async start(roles: Roles) {
      // Listen for progress from other nodes before any SSE/WS client asks for it.
      if (roles.api) await bus.listen();
    },
    async stop() {
      await bus.close();
    },
  };
}
