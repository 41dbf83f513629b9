// HTTP for live streams: create/read/list, end, key rotation, the live HLS playback endpoints
// and nginx-rtmp's on_publish callback. Rules live in LiveService; playback bytes come from storage.
import { randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { NovaApp } from '../capability.js';
import { addressKey } from '../http/address.js';
import { requireUser } from '../http/auth.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../http/errors.js';
import { cleanLine } from '../shared/text.js';
import { problems } from '../http/problem.schema.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { liveMasterPlaylist, type LiveLadder } from '../media/live.args.js';
import {
  BroadcastList,
  BroadcastQuery,
  CreatedStream,
  CreateStreamBody,
  ListQuery,
  NewKey,
  NginxHookBody,
  NginxHookQuery,
  PlaylistParams,
  RenditionFileParams,
  IngestHealthSchema,
  StreamIdParams,
  StreamIngest,
  StreamList,
  StreamSchema,
  ViewerQuery,
  type StreamDto,
} from './live.schemas.js';
import { liveHlsPrefixFor } from './live.ingest.js';
import type { StreamRow } from './live.repository.js';
import { PublishRefused, secretsEqual, type LiveService, type LiveStream } from './live.service.js';

export interface LiveRoutesDeps {
  live: LiveService;
  storage: ObjectStorage;
  publicUrl?: string;
  /** The RTMP ingest URL for a request (host as the client sees it, the bound port). */
  rtmpUrl: (req: FastifyRequest) => string;
  hookSecret?: string;
}

function baseUrl(req: FastifyRequest, publicUrl?: string): string {
  return publicUrl ?? `${req.protocol}://${req.host}`;
}

/**
 * A few hundred milliseconds of memory in front of the database and object storage: every viewer
 * polls the same playlist every segment, so without it each poll would be a row read plus a storage
 * GET. Small and written here because it only needs expiry, not eviction policies.
 */
class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 2000,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(k);
      if (this.entries.size >= this.maxEntries) this.entries.clear();
    }
    const value = load();
    this.entries.set(key, { at: now, value });
    // A failed load is not remembered.
    value.catch(() => this.entries.delete(key));
    return value;
  }
}

function randomViewerId(): string {
  return randomBytes(12).toString('base64url');
}

export function registerLiveRoutes(app: NovaApp, d: LiveRoutesDeps): void {
  const { live, storage } = d;
  const playbackUrl = (req: FastifyRequest, id: string) => `${baseUrl(req, d.publicUrl)}/api/v1/streams/${id}/live/master.m3u8`;
  const dto = (req: FastifyRequest, s: LiveStream): StreamDto => ({ ...s, playback_url: playbackUrl(req, s.id) });

  app.addSchema(StreamSchema);
  app.addSchema(IngestHealthSchema);
  // nginx-rtmp posts its callbacks as a form; only this capability's scope parses forms.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const tags = ['live'];
  const auth = [{ bearer: [] }];

  app.post(
    '/api/v1/streams',
    {
      schema: { tags, summary: 'Create a live stream and its stream key (shown once)', security: auth, body: CreateStreamBody, response: { 201: CreatedStream, ...problems(400, 401) } },
    },
    async (req, reply) => {
      const user = requireUser(req);
      if (!cleanLine(req.body.title)) throw new ValidationError('The title must not be blank.', [{ field: 'title', message: 'must not be blank' }]);
      const { stream, streamKey } = await live.create(user, {
        title: req.body.title,
        reusable: req.body.reusable,
        dvrWindowSeconds: req.body.dvr_window_seconds,
        clipsByViewers: req.body.clips_by_viewers,
      });
      return reply.code(201).send({ stream: dto(req, stream), stream_key: streamKey, rtmp_url: d.rtmpUrl(req), playback_url: playbackUrl(req, stream.id) });
    },
  );

  app.get(
    '/api/v1/streams',
    {
      schema: { tags, summary: 'List streams (status=live: live now)', querystring: ListQuery, response: { 200: StreamList, ...problems(400, 401) } },
    },
    async (req) => {
      let creatorId: string | undefined;
      if (req.query.creator === 'me') creatorId = requireUser(req).id;
      else if (req.query.creator) creatorId = req.query.creator;
      const page = await live.list({ status: req.query.status, creatorId, limit: req.query.limit ?? 20, cursor: req.query.cursor });
      return { items: page.items.map((s) => dto(req, s)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/v1/streams/:id',
    {
      schema: { tags, summary: 'A stream', params: StreamIdParams, response: { 200: StreamSchema, ...problems(400, 404) } },
    },
    async (req) => {
      const s = await live.getStream(req.params.id);
      if (!s) throw new NotFoundError(`No stream with id ${req.params.id}.`);
      return dto(req, s);
    },
  );

  app.post(
    '/api/v1/streams/:id/end',
    {
      schema: { tags, summary: 'End the stream (creator or admin)', security: auth, params: StreamIdParams, response: { 200: StreamSchema, ...problems(400, 401, 403, 404, 409) } },
    },
    async (req) => dto(req, await live.end(req.params.id, requireUser(req))),
  );

  app.delete(
    '/api/v1/streams/:id',
    {
      schema: {
        tags,
        summary: 'Disable the stream for good (creator or admin): any broadcast ends, the key is refused',
        security: auth,
        params: StreamIdParams,
        response: { 204: Type.Null({ description: 'Disabled' }), ...problems(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await live.disable(req.params.id, requireUser(req));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/streams/:id/broadcasts',
    {
      schema: { tags, summary: 'The broadcasts of a stream, newest first', params: StreamIdParams, querystring: BroadcastQuery, response: { 200: BroadcastList, ...problems(400, 404) } },
    },
    async (req) => {
      const { stream, rows } = await live.broadcasts(req.params.id, req.query.limit ?? 50);
      return {
        items: rows.map((b) => ({
          id: b.id,
          started_at: b.started_at,
          ended_at: b.ended_at,
          duration_seconds: b.ended_at ? b.duration_seconds : Math.max(0, Math.round((Date.now() - Date.parse(b.started_at)) / 1000)),
          peak_viewer_count: b.ended_at ? b.peak_viewer_count : stream.peak_viewer_count,
          recording_video_id: b.recording_video_id,
        })),
      };
    },
  );

  app.post(
    '/api/v1/streams/:id/key',
    {
      schema: { tags, summary: 'Rotate the stream key (creator); the old key stops working', security: auth, params: StreamIdParams, response: { 200: NewKey, ...problems(400, 401, 403, 404, 409) } },
    },
    async (req) => ({ stream_key: await live.rotateKey(req.params.id, requireUser(req)), rtmp_url: d.rtmpUrl(req) }),
  );

  app.get(
    '/api/v1/streams/:id/ingest',
    {
      schema: {
        tags,
        summary: 'Encoder settings (RTMP URL, not the key) and ingest health while live (creator or admin)',
        security: auth,
        params: StreamIdParams,
        response: { 200: StreamIngest, ...problems(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { stream, health } = await live.ingestHealth(req.params.id, requireUser(req));
      return { stream_id: stream.id, status: stream.status, rtmp_url: d.rtmpUrl(req), health };
    },
  );

  // ---- playback ---------------------------------------------------------------------------

  const rows = new TtlCache<StreamRow>(500);
  const playlists = new TtlCache<Buffer>(200);
  const liveRow = async (id: string) => {
    const row = await rows.get(id, () => live.requireStream(id));
    if (row.status !== 'live' || !row.ladder) throw new NotFoundError('This stream is not live right now.');
    return row;
  };

  app.get(
    '/api/v1/streams/:id/live/master.m3u8',
    {
      schema: { tags, summary: 'Live HLS master playlist', params: PlaylistParams, querystring: ViewerQuery, produces: ['application/vnd.apple.mpegurl'], response: { ...problems(400, 404) } },
    },
    async (req, reply) => {
      const row = await liveRow(req.params.id);
      // Each master fetch hands the player a viewer id that its media playlist polls carry back.
      const viewer = req.query.viewer ?? randomViewerId();
      live.viewerPolled(row.id, viewer, addressKey(req.ip));
      const ladder = JSON.parse(row.ladder!) as LiveLadder;
      return reply
        .header('cache-control', 'no-cache, no-store')
        .type('application/vnd.apple.mpegurl')
        .send(liveMasterPlaylist(ladder, `viewer=${viewer}`));
    },
  );

  app.get(
    '/api/v1/streams/:id/live/:rendition/:file',
    {
      schema: {
        tags,
        summary: 'Live HLS media playlist or segment (404 once it left the window or before it is written; 503 with Retry-After when storage fails)',
        params: RenditionFileParams,
        querystring: ViewerQuery,
        response: { ...problems(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const { id, rendition, file } = req.params;
      const key = `${liveHlsPrefixFor(id)}${rendition}/${file}`;
      if (file.endsWith('.m3u8')) {
        const row = await liveRow(id);
        if (req.query.viewer) live.viewerPolled(row.id, req.query.viewer, addressKey(req.ip));
        const body = await playlists.get(key, () => storage.getBuffer(key));
        return reply.header('cache-control', 'no-cache, no-store').type('application/vnd.apple.mpegurl').send(body);
      }
      // Segment names are unique per publish session, so a cached segment never goes stale.
      const info = await storage.stat(key);
      if (!info) throw new NotFoundError('No such segment (it may have left the live window).');
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-length', String(info.size))
        .type('video/mp2t')
        .send(await storage.get(key));
    },
  );

  // ---- nginx-rtmp ingest tier -------------------------------------------------------------

  app.post(
    '/api/v1/live/hooks/nginx-rtmp/on_publish',
    {
      // The shared secret travels in the query string (nginx-rtmp cannot set headers): no request logs here.
      logLevel: 'warn',
      schema: {
        tags,
        summary: 'nginx-rtmp on_publish callback: 2xx lets the publish through, 403 refuses it',
        querystring: NginxHookQuery,
        body: NginxHookBody,
        consumes: ['application/x-www-form-urlencoded'],
        response: { 200: Type.Object({ stream_id: Type.String() }), ...problems(400, 403) },
      },
    },
    async (req) => {
      if (!d.hookSecret) throw new ForbiddenError('The nginx-rtmp hook is disabled: set LIVE_HOOK_SECRET to enable it.');
      if (!req.query.secret || !secretsEqual(req.query.secret, d.hookSecret)) throw new ForbiddenError('Wrong or missing hook secret.');
      try {
        const row = await live.authorizeKey(req.body.name);
        if (row.publisher_id !== null) throw new PublishRefused('stream already has a publisher');
        return { stream_id: row.id };
      } catch (err) {
        if (err instanceof PublishRefused) throw new ForbiddenError(`Publish refused: ${err.message}.`);
        throw err;
      }
    },
  );
}
