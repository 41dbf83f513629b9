// Progress of a video: a snapshot, a Server-Sent Events stream and its WebSocket twin. Streams get
// one event per change, never a step back, and end after `ready`/`failed`. All streams of one video
// share one watcher (src/videos/progress.watch.ts); streams are capped per process and per client
// address (STREAMS_MAX, STREAMS_MAX_PER_ADDRESS), SSE and WebSocket together.
import type { IncomingMessage } from 'node:http';
import { Gauge, type Registry } from 'prom-client';
import type { NovaApp } from '../capability.js';
import type { HttpConfig } from '../config.js';
import { problems } from '../http/problem.schema.js';
import { StreamHub } from '../http/sse.js';
import type { ProgressSnapshot } from './progress.bus.js';
import { ProgressWatch } from './progress.watch.js';
import type { VideoRow } from './videos.repository.js';
import { IdParams, ProgressSchema } from './videos.schemas.js';
import type { VideosService } from './videos.service.js';

/** The JSON of one progress event, the same on SSE and WebSocket. */
function frame(s: ProgressSnapshot): string {
  return JSON.stringify({ event_type: 'progress', ...s });
}

export function registerProgressRoutes(app: NovaApp, videos: VideosService, cfg: HttpConfig, metrics: Registry): void {
  const tags = ['videos'];
  const watch = new ProgressWatch(videos);
  const hub = new StreamHub('progress streams', { maxTotal: cfg.maxStreams, maxPerAddress: cfg.maxStreamsPerAddress }, { heartbeatMs: cfg.sseHeartbeatMs, maxBufferedBytes: cfg.sseMaxBufferedBytes });
  new Gauge({
    name: 'nova_progress_streams',
    help: 'Open progress streams (SSE and WebSocket).',
    registers: [metrics],
    collect() {
      this.set(hub.slots.open());
    },
  });
  new Gauge({
    name: 'nova_progress_pollers',
    help: 'Videos whose progress is being polled (one poller per video, shared by its streams).',
    registers: [metrics],
    collect() {
      this.set(watch.pollers);
    },
  });
  // The video and slot reserved before a WebSocket upgrade, for the socket handler after it.
  const upgrading = new WeakMap<IncomingMessage, VideoRow>();
  // Open streams end when the server closes, so shutdown does not wait for them.
  app.addHook('preClose', async () => {
    hub.closeAll();
    watch.close();
  });

  app.get(
    '/api/v1/videos/:id/progress',
    {
      schema: { tags, summary: 'Processing status, stage, progress (0-100) and queue position', params: IdParams, response: { 200: ProgressSchema, ...problems(404) } },
    },
    async (req) => videos.snapshot(await videos.getVisible(req.params.id, req.user)),
  );

  app.get(
    '/api/v1/videos/:id/progress/stream',
    {
      schema: {
        tags,
        summary: 'Progress as Server-Sent Events (`progress` events), ending after ready/failed',
        description: `At most ${cfg.maxStreamsPerAddress} progress streams (SSE and WebSocket) per client address: more answer 429.`,
        params: IdParams,
        response: { ...problems(404, 429) },
      },
    },
    async (req, reply) => {
      const video = await videos.getVisible(req.params.id, req.user);
      const sse = hub.openSse(req, reply, hub.slots.acquire(req.ip), 'progress of video');
      // Ids continue from the client's Last-Event-ID, so they keep increasing across reconnects.
      let seq = /^\d{1,15}$/.test(sse.lastEventId ?? '') ? Number(sse.lastEventId) : 0;
      const stop = watch.follow(
        video.id,
        (s) => sse.send('progress', frame(s), ++seq),
        () => sse.close(),
      );
      sse.onClose(stop);
    },
  );

  app.get(
    '/api/v1/videos/:id/progress/ws',
    {
      websocket: true,
      schema: { tags, summary: "Progress as WebSocket frames (the SSE events' data), closing after ready/failed", params: IdParams, response: { ...problems(404, 429) } },
      // Runs before the upgrade, so an unknown video or a full cap gets a plain HTTP problem.
      preHandler: async (req) => {
        const { id } = req.params as { id: string };
        const video = await videos.getVisible(id, req.user);
        // Only an upgrade becomes a stream (a plain GET gets 404), so only an upgrade takes a slot.
        // The socket closes whether or not the upgrade completes: the slot is freed either way.
        if (req.ws) req.raw.socket.once('close', hub.slots.acquire(req.ip));
        upgrading.set(req.raw, video);
      },
    },
    (socket, req) => {
      const video = upgrading.get(req.raw);
      upgrading.delete(req.raw);
      if (!video) return void socket.close(1011, 'video unknown');
      const stop = watch.follow(
        video.id,
        (s) => socket.send(frame(s)),
        () => socket.close(1000, 'done'),
      );
      const forget = hub.track(() => {
        stop();
        forget();
        socket.close(1012, 'service restart');
      });
      socket.on('close', () => {
        stop();
        forget();
      });
      // Clients only listen; anything they send is ignored.
      socket.on('message', () => {});
    },
  );
}
