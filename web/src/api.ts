// The web app's only way to the server: JSON over fetch with the session's bearer token, and
// problem+json errors turned into ApiError so pages can show the server's `detail` inline.
import { session } from './session.js';

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

async function problemFrom(res: Response): Promise<ApiError> {
  let body: { title?: string; detail?: string; errors?: FieldError[] } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's error page): fall back to the status line.
  }
  const detail = body.detail ?? (res.status >= 500 ? 'The server had a problem; try again in a moment.' : `Request failed (${res.status}).`);
  return new ApiError(res.status, body.title ?? res.statusText, detail, body.errors ?? []);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'Network error', 'Could not reach the server. Check your connection and try again.');
  }
  if (res.status === 401 && session.token) {
    // The token expired or was revoked: drop it so the header offers "Sign in" again.
    session.clear();
  }
  if (!res.ok) throw await problemFrom(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown = {}) => api<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown = {}) => api<T>('PATCH', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

/** Adds the token as `?token=` for EventSource and WebSocket, which cannot send headers. */
export function withToken(path: string): string {
  if (!session.token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(session.token)}`;
}

/** An absolute ws:// or wss:// URL for a path on this origin. */
export function wsUrl(path: string): string {
  const u = new URL(withToken(path), location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof Error) return err.message;
  return String(err);
}
