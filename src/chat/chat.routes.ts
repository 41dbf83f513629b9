// Live chat in Nova: the WebSocket endpoint, history and moderation over HTTP, and the wiring to
// live streams (a stream's end closes its chat; chat sockets count as viewers). Rules live in
// ChatGateway (sockets) and ChatService (HTTP); the relay is in-process or Redis by config.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Type } from 'typebox';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { addressKey } from '../http/address.js';
import { requireUser } from '../http/auth.js';
import { RateLimitedError, UnavailableError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import type { LiveService } from '../live/live.service.js';
import { ChatGateway } from './chat.gateway.js';
import { createChatMetrics } from './chat.metrics.js';
import { MemoryChatRelay, RedisChatRelay, type ChatRelay } from './chat.relay.js';
import { ChatRepository } from './chat.repository.js';
import { Ban, BanBody, BanList, BanParams, HistoryPage, HistoryQuery, MessageParams, Settings, SettingsBody, StreamParams, WsQuery } from './chat.schemas.js';
import { ChatService } from './chat.service.js';
import type { ChatStream, ChatStreamsPort } from './chat.types.js';

/** Chat's view of live streams, through the live service's hooks. */
export function liveStreamsPort(live: LiveService): ChatStreamsPort {
  return {
    async getStream(id) {
      const s = await live.getStream(id);
      return s ? { id: s.id, creator_id: s.creator_id, status: s.status } : null;
    },
    onStreamEnded(listener) {
      // A reusable stream's broadcast ending leaves its chat open for the next one.
      live.onStreamEnded((info) => {
        if (info.final) listener(info.streamId);
      });
    },
    viewerJoined: (streamId, viewerId, address) => live.viewerJoined(streamId, viewerId, address),
    viewerLeft: (streamId, viewerId) => live.viewerLeft(streamId, viewerId),
  };
}

/**
 * Frees a chat slot when the client's connection closes. Every way an upgrade request ends closes
 * it: an error answer (the WebSocket plugin destroys the connection after it), a handshake `ws`
 * refuses (it destroys the connection without calling the route), a client hanging up before the
 * upgrade, and the socket closing after it. An onResponse hook would miss the middle two.
 */
function releaseOnClose(connection: Socket, release: () => void): void {
  if (connection.destroyed) release();
  else connection.once('close', release);
}

export function chatCapability(c: Container, live: LiveService): Capability {
  const cfg = c.config.chat;
  const logger = c.logger.child({ capability: 'chat' });
  const repo = new ChatRepository(c.db);
  const relay: ChatRelay = c.redis
    ? new RedisChatRelay(c.redis, { prefix: cfg.redisPrefix, historySize: cfg.redisHistorySize, historyTtlSeconds: 7 * 24 * 3600, onError: (err) => logger.warn({ err }, 'chat relay error') })
    : new MemoryChatRelay();
  const streams = liveStreamsPort(live);
  const gateway = new ChatGateway({ repo, relay, streams, limiter: c.limiter, config: cfg, logger, metrics: createChatMetrics(c.metrics) });
  const service = new ChatService({ repo, relay, streams, users: c.accounts, config: cfg, logger });
  streams.onStreamEnded((id) => void service.streamEnded(id));
  // The stream looked up before the upgrade, for the socket handler after it.
  const upgrading = new WeakMap<IncomingMessage, ChatStream>();

  return {
    name: 'chat',
    routes(app: NovaApp) {
      const tags = ['chat'];
      const auth = [{ bearer: [] }];
      const base = '/api/v1/streams/:stream_id/chat';

      app.get(
        `${base}/ws`,
        {
          websocket: true,
          schema: { params: StreamParams, querystring: WsQuery },
          // Runs before the upgrade, so an unknown stream or a full server gets a plain HTTP error.
          preHandler: async (req) => {
            // Only an upgrade can become a socket (a plain GET gets 404), so only an upgrade takes a slot.
            if (req.ws) {
              const slot = gateway.reserveSlot(addressKey(req.ip));
              if (slot === 'server') throw new UnavailableError('This server has as many chat connections as it takes; try again later.');
              if (slot === 'address') throw new RateLimitedError(`This address already has ${cfg.maxSocketsPerAddress} chat connections open here; close some first.`, 10);
              releaseOnClose(req.raw.socket, slot);
            }
            const { stream_id } = req.params as { stream_id: string };
            upgrading.set(req.raw, await service.requireStream(stream_id));
          },
        },
        (socket, req) => {
          const stream = upgrading.get(req.raw);
          upgrading.delete(req.raw);
          if (!stream) return void socket.close(1011, 'stream unknown');
          const { viewer } = req.query as { viewer?: string };
          gateway.attach(socket, req.raw.socket, stream, req.user, req.badToken, viewer, addressKey(req.ip));
        },
      );

      app.get(
        `${base}/messages`,
        {
          schema: { tags, summary: 'Chat history, newest last', params: StreamParams, querystring: HistoryQuery, response: { 200: HistoryPage, ...problems(400, 404) } },
        },
        async (req) => ({ messages: await service.history(req.params.stream_id, req.query.limit ?? cfg.historySize, req.query.before) }),
      );

      app.delete(
        `${base}/messages/:comment_id`,
        {
          schema: {
            tags,
            summary: 'Hide a chat message (creator or admin)',
            security: auth,
            params: MessageParams,
            response: { 204: Type.Null({ description: 'Hidden' }), ...problems(401, 403, 404) },
          },
        },
        async (req, reply) => {
          await service.deleteMessage(requireUser(req), req.params.stream_id, req.params.comment_id);
          return reply.code(204).send(null);
        },
      );

      app.get(
        `${base}/bans`,
        {
          schema: { tags, summary: 'Users banned from the chat (creator or admin)', security: auth, params: StreamParams, response: { 200: BanList, ...problems(401, 403, 404) } },
        },
        async (req) => ({ bans: await service.bans(requireUser(req), req.params.stream_id) }),
      );

      app.post(
        `${base}/bans`,
        {
          schema: {
            tags,
            summary: 'Ban a user from the chat (creator or admin)',
            security: auth,
            params: StreamParams,
            body: BanBody,
            response: { 200: Ban, 201: Ban, ...problems(400, 401, 403, 404, 422) },
          },
        },
        async (req, reply) => {
          const { ban, created } = await service.ban(requireUser(req), req.params.stream_id, req.body.user_id);
          return reply.code(created ? 201 : 200).send(ban);
        },
      );

      app.delete(
        `${base}/bans/:user_id`,
        {
          schema: { tags, summary: 'Lift a ban (creator or admin)', security: auth, params: BanParams, response: { 204: Type.Null({ description: 'Lifted' }), ...problems(401, 403, 404) } },
        },
        async (req, reply) => {
          await service.unban(requireUser(req), req.params.stream_id, req.params.user_id);
          return reply.code(204).send(null);
        },
      );

      app.get(
        `${base}/settings`,
        {
          schema: { tags, summary: 'Chat settings', params: StreamParams, response: { 200: Settings, ...problems(404) } },
        },
        async (req) => service.settings(req.params.stream_id),
      );

      app.put(
        `${base}/settings`,
        {
          schema: { tags, summary: 'Change chat settings (creator or admin)', security: auth, params: StreamParams, body: SettingsBody, response: { 200: Settings, ...problems(400, 401, 403, 404) } },
        },
        async (req) => service.putSettings(requireUser(req), req.params.stream_id, req.body.slow_mode_seconds),
      );
    },
    async start(roles: Roles) {
      if (roles.api) gateway.start();
    },
    async stop() {
      await gateway.stop();
      await relay.close();
    },
  };
}
