// HTTP for content moderation (admins only): act on a video or stream, and read the log.
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { requireAdmin } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import type { LiveService } from '../live/live.service.js';
import type { VideosService } from '../videos/videos.service.js';
import type { ModerationEntry } from './moderation.repository.js';
import { ModerationRepository } from './moderation.repository.js';
import { ModerationBody, ModerationEntrySchema, ModerationList, ModerationQuery } from './moderation.schemas.js';
import { ModerationService } from './moderation.service.js';

export function moderationCapability(c: Container, live: LiveService, videos: VideosService): Capability & { service: ModerationService } {
  const service = new ModerationService(new ModerationRepository(c.db), videos, live);
  const withNames = async (entries: ModerationEntry[]) => {
    const names = await c.accounts.usernames(entries.flatMap((e) => [e.target_owner_id, e.moderator_id]));
    return entries.map((e) => ({ ...e, target_owner: names.get(e.target_owner_id) ?? null, moderator: names.get(e.moderator_id) ?? null }));
  };
  const schema = { tags: ['admin'], security: [{ bearer: [] }] };
  return {
    name: 'moderation',
    service,
    routes(app: NovaApp) {
      app.post(
        '/api/v1/admin/moderation',
        {
          schema: {
            ...schema,
            summary: 'Hide, show again or delete a video, or delete a stream, with a reason (admin)',
            body: ModerationBody,
            response: { 201: ModerationEntrySchema, ...problems(400, 401, 403, 404, 409) },
          },
        },
        async (req, reply) => {
          const entry = await service.act(requireAdmin(req), req.body);
          return reply.code(201).send((await withNames([entry]))[0]);
        },
      );

      app.get(
        '/api/v1/admin/moderation',
        {
          schema: { ...schema, summary: 'The moderation log, newest first (admin)', querystring: ModerationQuery, response: { 200: ModerationList, ...problems(400, 401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          const { limit } = req.query;
          const rows = await service.list({ targetType: req.query.target_type, targetId: req.query.target_id, beforeId: req.query.cursor, limit: limit + 1 });
          const page = rows.slice(0, limit);
          return { items: await withNames(page), next_cursor: rows.length > limit ? page[page.length - 1].id : null };
        },
      );
    },
  };
}
