// Response schemas of the admin view of the job queue, and their named types (imported, type-only,
// by the typed client and the web app).
import { Type, type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const JobSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  video_id: Nullable(Type.String()),
  state: Type.String(),
  stage: Nullable(Type.String()),
  progress: Type.Number(),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  worker: Nullable(Type.String()),
  error: Nullable(Type.String()),
  created_at: Type.String(),
  started_at: Nullable(Type.String()),
  finished_at: Nullable(Type.String()),
  run_at: Type.String(),
});

const Counts = Type.Object({
  queued: Type.Integer(),
  running: Type.Integer(),
  retrying: Type.Integer(),
  failed: Type.Integer(),
  done: Type.Integer(),
});

export const JobsView = Type.Object({
  queue: Type.String({ description: 'embedded or bullmq' }),
  counts: Counts,
  running: Type.Array(JobSchema),
  failed: Type.Array(JobSchema, { description: 'The most recent failed jobs' }),
});

export const RetriedJob = Type.Object({ job: JobSchema });

export type JobJson = Static<typeof JobSchema>;
export type JobsViewJson = Static<typeof JobsView>;
export type RetriedJobJson = Static<typeof RetriedJob>;
