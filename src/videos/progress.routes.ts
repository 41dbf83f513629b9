// Progress of a video: a snapshot, a Server-Sent Events stream and its WebSocket twin. Streams get
// one event per change, never a step back, and end after `ready`/`failed`. They follow the progress
// bus and also re-read the database every few seconds, so a lost pub/sub message is caught up.
import type { IncomingMessage } from 'node:http';
import type { NovaApp } from '../capability.js';
import { problems } from '../http/problem.schema.js';
import { compareProgress, isTerminal, type ProgressSnapshot } from './progress.bus.js';
import type { VideoRow } from './videos.repository.js';
import { IdParams, ProgressSchema } from './videos.schemas.js';
import type { VideosService } from './videos.service.js';

const POLL_MS = 2000;
const KEEPALIVE_MS = 15_000;

/** Calls `send` for each newer snapshot of a video and `end` after a terminal one; returns a stop function. */
export function followProgress(videos: VideosService, videoId: string, send: (s: ProgressSnapshot) => void, end: () => void): () => void {
  let last: ProgressSnapshot | null = null;
  let closed = false;
  const offer = (s: ProgressSnapshot) => {
    if (closed) return;
    if (last) {
      const order = compareProgress(s, last);
      if (order < 0 || (order === 0 && s.queue_position === last.queue_position)) return;
    }
    last = s;
    send(s);
    if (isTerminal(s)) stop(true);
  };
  const unsubscribe = videos.bus.subscribe(videoId, offer);
  const poll = async () => {
    try {
      const v = await videos.repo.findById(videoId);
      if (!v) return stop(true);
      offer(await videos.snapshot(v));
    } catch {
      // The next poll or bus message catches up.
    }
  };
  const timer = setInterval(() => void poll(), POLL_MS);
  void poll();
  function stop(ended: boolean): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(timer);
    if (ended) end();
  }
  return () => stop(false);
}

/** The JSON of one progress event, the same on SSE and WebSocket. */
function frame(s: ProgressSnapshot): string {
  return JSON.stringify({ event_type: 'progress', ...s });
}

export function registerProgressRoutes(app: NovaApp, videos: VideosService): void {
  const tags = ['videos'];
  // The video looked up before a WebSocket upgrade, for the socket handler after it.
  const upgrading = new WeakMap<IncomingMessage, VideoRow>();
  // Open streams end when the server closes, so shutdown does not wait for them.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/api/v1/videos/:id/progress', {
    schema: { tags, summary: 'Processing status, stage, progress (0-100) and queue position', params: IdParams, response: { 200: ProgressSchema, ...problems(404) } },
  }, async (req) => videos.snapshot(await videos.getVisible(req.params.id, req.user)));

  app.get('/api/v1/videos/:id/progress/stream', {
    schema: { tags, summary: 'Progress as Server-Sent Events (`progress` events), ending after ready/failed', params: IdParams, response: { ...problems(404) } },
  }, async (req, reply) => {
    const video = await videos.getVisible(req.params.id, req.user);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(req.id),
    });
    res.write(': progress of video\n\n');
    let seq = 0;
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const stop = followProgress(
      videos,
      video.id,
      (s) => res.write(`id: ${++seq}\nevent: progress\ndata: ${frame(s)}\n\n`),
      () => {
        clearInterval(keepalive);
        res.end();
      },
    );
    const close = () => {
      clearInterval(keepalive);
      stop();
      open.delete(close);
      if (!res.writableEnded) res.end();
    };
    open.add(close);
    res.on('close', close);
  });

  app.get('/api/v1/videos/:id/progress/ws', {
    websocket: true,
    schema: { tags, summary: 'Progress as WebSocket frames (the SSE events\' data), closing after ready/failed', params: IdParams },
    // Runs before the upgrade, so an unknown video gets a plain HTTP 404.
    preHandler: async (req) => {
      const { id } = req.params as { id: string };
      upgrading.set(req.raw, await videos.getVisible(id, req.user));
    },
  }, (socket, req) => {
    const video = upgrading.get(req.raw);
    upgrading.delete(req.raw);
    if (!video) return void socket.close(1011, 'video unknown');
    const stop = followProgress(
      videos,
      video.id,
      (s) => socket.send(frame(s)),
      () => socket.close(1000, 'done'),
    );
    const close = () => {
      stop();
      open.delete(close);
      socket.close(1012, 'service restart');
    };
    open.add(close);
    socket.on('close', () => {
      stop();
      open.delete(close);
    });
    // Clients only listen; anything they send is ignored.
    socket.on('message', () => {});
  });
}
