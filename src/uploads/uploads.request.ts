// The request as @tus/server 2 sees it: srvx's NodeRequest (what the library's own Node handler
// builds), except for its body. @tus/server reads every body as a web ReadableStream and turns it
// back into a Node stream (Readable.fromWeb) before writing it to the store; srvx makes that web
// stream with Node's Readable.toWeb, which on Node 20 copies every chunk into a new Uint8Array and
// pauses the socket after each one (its queue holds 16 KiB, a socket read is up to 64 KiB). The
// body below hands the chunks over as they are and queues up to 1 MiB.
// Measured on 2 loaded cores: uploading 512 MiB (and an 8 MiB warm-up), Nova's JavaScript thread was
// busy about 1.1 s before and 0.5 s after (bench/upload.bench.ts --cpu-prof). The body path alone
// (a loopback PUT into Readable.fromWeb, 256 MiB, 8-10 alternating rounds, a one-off script) took
// 0.97-1.13 CPU s/GiB through Readable.toWeb, 0.86-0.88 through this stream, 0.82-0.89 with no web
// stream at all.
// Nothing else changes: a client that goes away still ends the stream with an AbortError, as
// Readable.toWeb's does, and cancelling the stream destroys the request, as it does there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { NodeRequest } from 'srvx/node';

/** How much of a body waits in the web stream before the socket is paused. */
const QUEUE_BYTES = 1024 * 1024;

/** The web stream @tus/server reads a body from, over the Node request, without copying chunks. */
export function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let canceled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.pause();
        // A socket's chunks are fresh buffers that nothing else writes to: they can be queued as they are.
        req.on('data', (chunk: Buffer) => {
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        const cleanup = finished(req, (err) => {
          cleanup();
          // A non-standard stream may emit errors after finishing; they have nowhere to go.
          req.on('error', () => {});
          if (canceled) return;
          if (!err) return controller.close();
          if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
            controller.error(Object.assign(new Error('The operation was aborted', { cause: err }), { name: 'AbortError', code: 'ABORT_ERR' }));
          } else {
            controller.error(err);
          }
        });
      },
      pull() {
        req.resume();
      },
      cancel(reason) {
        canceled = true;
        req.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }),
  );
}

/** srvx's NodeRequest for @tus/server's handleWeb, with `bodyStream` as its body. */
export function tusRequest(req: IncomingMessage, res: ServerResponse): Request {
  const request = new NodeRequest({ req, res });
  let body: ReadableStream<Uint8Array> | null | undefined;
  Object.defineProperty(request, 'body', {
    get: () => (body === undefined ? (body = req.method === 'GET' || req.method === 'HEAD' ? null : bodyStream(req)) : body),
  });
  return request;
}
