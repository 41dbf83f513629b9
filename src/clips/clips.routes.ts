// Wires clips and chat replay into Nova: POST …/videos/{id}/clips, POST …/streams/{id}/clips and
// GET …/videos/{id}/chat. Rules live in ClipsService and ChatReplay.
import type { Capability, NovaApp } from '../capability.js';
import { ChatRepository } from '../chat/chat.repository.js';
import type { Container } from '../container.js';
import { requireUser } from '../http/auth.js';
import { ValidationError } from '../http/errors.js';
import { problems } from '../http/problem.schema.js';
import type { LiveService } from '../live/live.service.js';
import { baseUrl } from '../videos/videos.routes.js';
import { videoJson } from '../videos/videos.json.js';
import { IdParams } from '../videos/videos.schemas.js';
import type { VideosService } from '../videos/videos.service.js';
import { ClipsRepository } from './clips.repository.js';
import { ChatReplay } from './clips.replay.js';
import { ChatReplayList, ChatReplayQuery, ClipResultSchema, StreamClipBody, VideoClipBody } from './clips.schemas.js';
import { ClipsService } from './clips.service.js';

/** Messages one replay answer carries at most; a player asks again for the next stretch. */
const REPLAY_LIMIT = 1000;

export function clipsCapability(c: Container, live: LiveService, videos: VideosService): Capability & { service: ClipsService } {
  const repo = new ClipsRepository(c.db);
  const service = new ClipsService(repo, videos, live, c.limiter, c.logger.child({ module: 'clips' }));
  const replay = new ChatReplay(repo, live.repo, new ChatRepository(c.db), (id) => videos.repo.findById(id));
  return {
    name: 'clips',
    service,
    routes(app: NovaApp) {
      const tags = ['clips'];
      const auth = [{ bearer: [] }];
      const base = (req: Parameters<typeof baseUrl>[0]) => baseUrl(req, c.config.publicUrl);

      app.post(
        '/api/v1/videos/:id/clips',
        {
          schema: {
            tags,
            summary: 'Clip a ready video: the segments covering the range are copied (no re-encode) into a new ready video',
            security: auth,
            params: IdParams,
            body: VideoClipBody,
            response: { 201: ClipResultSchema, ...problems(400, 401, 403, 404, 409, 429) },
          },
        },
        async (req, reply) => {
          const r = await service.clipVideo(requireUser(req), req.params.id, req.body);
          return reply.code(201).send({ video: videoJson(r.video, base(req)), start_seconds: r.start_seconds, end_seconds: r.end_seconds });
        },
      );

      app.post(
        '/api/v1/streams/:id/clips',
        {
          schema: {
            tags,
            summary: "Clip the last seconds of a live stream (its DVR window, or a recorded broadcast's kept segments)",
            security: auth,
            params: IdParams,
            body: StreamClipBody,
            response: { 201: ClipResultSchema, ...problems(400, 401, 403, 404, 409, 429) },
          },
        },
        async (req, reply) => {
          const r = await service.clipStream(requireUser(req), req.params.id, req.body);
          return reply.code(201).send({ video: videoJson(r.video, base(req)), start_seconds: r.start_seconds, end_seconds: r.end_seconds });
        },
      );

      app.get(
        '/api/v1/videos/:id/chat',
        {
          schema: {
            tags,
            summary: 'The live chat of a recording (or a clip of one), with offsets into the video',
            params: IdParams,
            querystring: ChatReplayQuery,
            response: { 200: ChatReplayList, ...problems(400, 404, 409) },
          },
        },
        async (req) => {
          const v = await videos.getVisible(req.params.id, req.user);
          const from = req.query.from ?? 0;
          const to = req.query.to ?? Math.max(from, (v.duration_seconds ?? 0) + 1);
          if (to < from) throw new ValidationError('`to` must not be before `from`.', [{ field: 'to', message: 'must be at least from' }]);
          return { items: await replay.messages(v, from, to, REPLAY_LIMIT) };
        },
      );
    },
  };
}
