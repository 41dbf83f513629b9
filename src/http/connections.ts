// Bounds on the HTTP server's connections, so a stranger cannot hold the server's sockets:
// header, request and keep-alive timeouts, and a cap on open connections per client address.
// The request timeout covers receiving the request (headers and body), not answering it, so
// SSE and WebSocket streams live on; tus PATCH bodies may stream for hours and get an idle
// timeout instead.
import type { Server, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { HttpConfig } from '../config.js';
import type { Logger } from '../infra/logger.js';
import { addressKey } from './address.js';

/** Long uploads: tus PATCH requests under this path get the idle timeout, not the request timeout. */
const UPLOAD_PATH = '/api/v1/uploads/';

export interface ConnectionLimits {
  /** Connections refused because their address had too many open. */
  refused(): number;
  open(address: string): number;
}

/** Counts connections per address on `server` and closes those above the cap at once. */
export function limitConnections(server: Server, cfg: HttpConfig, logger: Logger): ConnectionLimits {
  server.headersTimeout = cfg.headersTimeoutMs;
  // Node's own request timeout cannot spare tus PATCH: `guardRequests` enforces it instead.
  server.requestTimeout = 0;
  server.keepAliveTimeout = cfg.keepAliveTimeoutMs;
  const perAddress = new Map<string, number>();
  let refused = 0;
  let lastWarning = 0;
  server.on('connection', (socket: Socket) => {
    if (cfg.maxConnectionsPerAddress === 0) return;
    const key = addressKey(socket.remoteAddress ?? '');
    const n = perAddress.get(key) ?? 0;
    if (n >= cfg.maxConnectionsPerAddress) {
      refused++;
      if (Date.now() - lastWarning > 60_000) {
        lastWarning = Date.now();
        logger.warn({ address: key, limit: cfg.maxConnectionsPerAddress }, 'connections refused: too many open from one address (HTTP_MAX_CONNECTIONS_PER_ADDRESS)');
      }
      socket.destroy();
      return;
    }
    perAddress.set(key, n + 1);
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
  });
  return { refused: () => refused, open: (address) => perAddress.get(addressKey(address)) ?? 0 };
}

function isUploadPatch(req: IncomingMessage): boolean {
  return req.method === 'PATCH' && (req.url ?? '').startsWith(UPLOAD_PATH);
}

/** Per-request timeouts: the whole request within requestTimeoutMs; tus PATCH bodies idle at most uploadIdleTimeoutMs. */
export function guardRequests(app: FastifyInstance, cfg: HttpConfig): void {
  app.addHook('onRequest', (request, _reply, done) => {
    guard(request.raw, cfg);
    done();
  });
}

/** A request whose headers announce no body has been received whole once its headers are in. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function guard(req: IncomingMessage, cfg: HttpConfig): void {
  const socket = req.socket;
  if (isUploadPatch(req)) {
    const idle = () => socket.destroy();
    socket.setTimeout(cfg.uploadIdleTimeoutMs);
    socket.on('timeout', idle);
    // The connection may carry other requests afterwards: the idle timeout is this request's only.
    req.once('close', () => {
      socket.setTimeout(0);
      socket.off('timeout', idle);
    });
    return;
  }
  // Nothing left to receive (the headers timeout covered the headers), so no timer: most requests
  // (page loads, assets, API reads) are of this kind. A WebSocket upgrade has no body; after it the
  // socket belongs to the WebSocket.
  if (req.complete || !hasBody(req) || req.headers.upgrade) return;
  const timer = setTimeout(() => {
    if (!req.complete) socket.destroy();
  }, cfg.requestTimeoutMs);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}
