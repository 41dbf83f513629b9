// The processing capability: registers the VOD pipeline's job handler, serves the admin view of the
// job queue (counts per state, running and failed jobs, retry of a failed one) and, in processes with
// the worker role, runs the worker itself.
import path from 'node:path';
import { Type } from 'typebox';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { requireAdmin } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import type { JobRow } from '../infra/queue/queue.js';
import { TRANSCODE_JOB } from '../videos/videos.keys.js';
import type { VodServices } from '../videos/videos.wiring.js';
import { TranscodeHandler } from './transcode.handler.js';
import { JobsView, RetriedJob } from './transcode.schemas.js';

function jobJson(j: JobRow) {
  return {
    id: j.id,
    type: j.type,
    // The subject of a transcode is its video.
    video_id: j.subject_id,
    state: j.state,
    stage: j.stage,
    progress: Math.round(j.progress),
    attempts: j.attempts,
    max_attempts: j.max_attempts,
    worker: j.state === 'running' ? j.locked_by : null,
    error: j.error,
    created_at: j.created_at,
    started_at: j.started_at,
    finished_at: j.finished_at,
    run_at: j.run_at,
  };
}

export function transcodeCapability(c: Container, vod: VodServices): Capability {
  const { queue, videos, media } = vod;
  // Registered when the capability is built, before any route can add a job (add() refuses a type without a handler).
  queue.register(TRANSCODE_JOB, new TranscodeHandler(videos, media, c.storage, { workRoot: path.join(c.config.dataDir, 'tmp', 'transcode') }));
  return {
    name: 'transcode',
    routes(app: NovaApp) {
      const tags = ['jobs'];
      const auth = [{ bearer: [] }];

      app.get(
        '/api/v1/jobs',
        {
          schema: { tags, summary: 'Job queue status (admin)', security: auth, response: { 200: JobsView, ...problems(401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          const s = await queue.stats();
          return { queue: queue.adapter.kind, counts: s.counts, running: s.running.map(jobJson), failed: s.failed.map(jobJson) };
        },
      );

      app.post(
        '/api/v1/jobs/:id/retry',
        {
          schema: {
            tags,
            summary: 'Re-queue a failed job with fresh attempts (admin)',
            security: auth,
            params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
            response: { 202: RetriedJob, ...problems(401, 403, 404, 409) },
          },
        },
        async (req, reply) => {
          requireAdmin(req);
          const job = await videos.retryJob(req.params.id);
          return reply.code(202).send({ job: jobJson(job) });
        },
      );
    },
    async start(roles: Roles) {
      if (roles.worker) await queue.startWorker();
    },
    async stop() {
      await queue.stop();
    },
  };
}
