// Who is calling: resolves `Authorization: Bearer <token>` (or `?token=` for WebSockets and
// EventSource, which cannot set headers) to request.user once per request. Anywhere else a token in
// the URL is ignored: URLs end up in proxy logs, browser history and Referer headers.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthUser } from '../accounts/accounts.service.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /** True when a token was sent but is unknown or expired. */
    badToken: boolean;
  }
}

export function tokenFrom(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m ? m[1] : null;
  }
  if (!headerlessClient(request)) return null;
  const q = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' && q ? q : null;
}

/** A WebSocket handshake or an EventSource (SSE) request: the clients that cannot send headers. */
function headerlessClient(request: FastifyRequest): boolean {
  if (request.method !== 'GET') return false;
  if (request.headers.upgrade?.toLowerCase() === 'websocket') return true;
  return (request.headers.accept ?? '').toLowerCase().includes('text/event-stream');
}

export function registerAuth(app: FastifyInstance, authenticate: (token: string) => Promise<AuthUser | null>): void {
  app.decorateRequest('user', null);
  app.decorateRequest('badToken', false);
  // A callback hook: most requests (the web app, its assets, public reads) carry no token and
  // then pay no promise.
  app.addHook('preValidation', (request, _reply, done) => {
    const token = tokenFrom(request);
    if (!token) return done();
    authenticate(token).then(
      (user) => {
        request.user = user;
        request.badToken = user === null;
        done();
      },
      (err: Error) => done(err),
    );
  });
}

export function requireUser(request: FastifyRequest): AuthUser {
  if (request.user) return request.user;
  throw new UnauthorizedError(request.badToken ? 'The bearer token is invalid or expired.' : undefined);
}

export function requireAdmin(request: FastifyRequest): AuthUser {
  const user = requireUser(request);
  if (user.role !== 'admin') throw new ForbiddenError('Only an admin can do this.');
  return user;
}

/** Owner-or-admin check for resources that belong to a user. */
export function requireOwnerOrAdmin(request: FastifyRequest, ownerId: string, what = 'this resource'): AuthUser {
  const user = requireUser(request);
  if (user.id !== ownerId && user.role !== 'admin') throw new ForbiddenError(`Only the owner of ${what} or an admin can do this.`);
  return user;
}
