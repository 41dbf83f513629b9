// HTTP for channels: a user's public page, follow/unfollow, whom I follow, and the following feed.
// Rules live in ChannelsService. The ranked feed reads follows through channels.queries, not this.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { requireUser } from '../http/auth.js';
import { ValidationError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import type { LiveService, LiveStream } from '../live/live.service.js';
import { baseUrl } from '../videos/videos.routes.js';
import { videoJson } from '../videos/videos.json.js';
import type { VideosService } from '../videos/videos.service.js';
import { ChannelSchema, FollowingFeed, FollowingList, PageQuery, UsernameParams } from './channels.schemas.js';
import { ChannelsService } from './channels.service.js';
import { FollowsRepository } from './follows.repository.js';

export interface ChannelsCapability extends Capability {
  service: ChannelsService;
}

function badCursor(): never {
  throw new ValidationError('The cursor is not one this server issued.', [{ field: 'cursor', message: 'is invalid' }]);
}

/** `followsChanged` hears of each follow and unfollow once it committed. */
export function channelsCapability(c: Container, live: LiveService, videos: VideosService, followsChanged?: (userId: string) => Promise<void>): ChannelsCapability {
  const service = new ChannelsService(c.db, new FollowsRepository(c.db), c.accounts, videos, live, followsChanged);
  const streamJson = (req: FastifyRequest, s: LiveStream, username?: string) => ({
    id: s.id,
    creator_id: s.creator_id,
    ...(username !== undefined ? { username } : {}),
    title: s.title,
    status: s.status,
    started_at: s.started_at,
    viewer_count: s.viewer_count,
    playback_url: `${baseUrl(req, c.config.publicUrl)}/api/v1/streams/${s.id}/live/master.m3u8`,
  });
  return {
    name: 'channels',
    service,
    routes(app: NovaApp) {
      const tags = ['channels'];
      const security = [{ bearer: [] }];

      app.get(
        '/api/v1/users/:username',
        {
          schema: { tags, summary: "A user's channel: counts, and their live stream when live", params: UsernameParams, response: { 200: ChannelSchema, ...problems(404) } },
        },
        async (req) => {
          const ch = await service.channel(req.params.username, req.user);
          return { ...ch, live_stream: ch.live_stream ? streamJson(req, ch.live_stream) : null };
        },
      );

      app.put(
        '/api/v1/users/:username/follow',
        {
          schema: { tags, security, summary: 'Follow a user (idempotent)', params: UsernameParams, response: { 204: Type.Null({ description: 'Following' }), ...problems(400, 401, 404) } },
        },
        async (req, reply) => {
          await service.follow(requireUser(req), req.params.username);
          return reply.code(204).send(null);
        },
      );

      app.delete(
        '/api/v1/users/:username/follow',
        {
          schema: { tags, security, summary: 'Stop following a user (idempotent)', params: UsernameParams, response: { 204: Type.Null({ description: 'Not following' }), ...problems(401, 404) } },
        },
        async (req, reply) => {
          await service.unfollow(requireUser(req), req.params.username);
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/api/v1/me/following',
        {
          schema: { tags, security, summary: 'Whom I follow, most recent first', querystring: PageQuery, response: { 200: FollowingList, ...problems(400, 401) } },
        },
        async (req) => {
          const user = requireUser(req);
          let before: { at: string; id: string } | undefined;
          if (req.query.cursor) {
            const [at, id] = Buffer.from(req.query.cursor, 'base64url').toString('utf8').split('|');
            if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) badCursor();
            before = { at, id };
          }
          const page = await service.following(user, req.query.limit, before);
          return { items: page.items, next_cursor: page.next ? Buffer.from(`${page.next.at}|${page.next.id}`, 'utf8').toString('base64url') : null };
        },
      );

      app.get(
        '/api/v1/feed/following',
        {
          schema: {
            tags: ['feed'],
            security,
            summary: 'Newest public videos and live streams of the creators I follow',
            querystring: PageQuery,
            response: { 200: FollowingFeed, ...problems(400, 401) },
          },
        },
        async (req) => {
          const user = requireUser(req);
          let cursor: string | undefined;
          if (req.query.cursor) {
            cursor = Buffer.from(req.query.cursor, 'base64url').toString('utf8');
            if (!/^[0-9a-f-]{36}$/.test(cursor)) badCursor();
          }
          const r = await service.followingFeed(user, req.query.limit, cursor);
          const base = baseUrl(req, c.config.publicUrl);
          return {
            live: r.live.map((s) => streamJson(req, s, r.usernames.get(s.creator_id) ?? '')),
            items: r.items.map((v) => ({ ...videoJson(v, base), owner_username: r.usernames.get(v.owner_id) ?? '' })),
            next_cursor: r.nextCursor ? Buffer.from(r.nextCursor, 'utf8').toString('base64url') : null,
          };
        },
      );
    },
  };
}
