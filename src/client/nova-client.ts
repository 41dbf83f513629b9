// A small typed HTTP client for Nova's public API, used by the test-suite and benchmarks so they
// read like a user's session. Each capability adds its calls in its own file in this folder
// (e.g. videos.client.ts) as functions over NovaClient.request.
import type { AuthResultJson, MeJson } from '../accounts/accounts.schemas.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

/** The signed-in user, as GET /api/v1/me answers (the server's schema, imported type-only). */
export type UserInfo = MeJson;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** The connection failed before any of the response arrived (undici's UND_ERR_SOCKET "other side closed"). */
function isClosedReusedSocket(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code === 'UND_ERR_SOCKET';
}

/**
 * fetch, sent again once when an idempotent request met a kept-alive connection the server had
 * just closed: the server's idle timeout and the client's reuse of the socket can cross (more
 * so when the event loop stalls), and HTTP lets a client retry an idempotent request then
 * (RFC 9112, 9.3.1). fetch rejects this way only before a response arrived; other methods are
 * not retried, as the server may have acted on them.
 */
async function fetchIdempotent(url: string, init: RequestInit & { method: string }): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (!IDEMPOTENT.has(init.method.toUpperCase()) || !isClosedReusedSocket(err)) throw err;
    return fetch(url, init);
  }
}

export class NovaClient {
  token: string | null;

  constructor(
    readonly baseUrl: string,
    token: string | null = null,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
  }

  /** A client for the same server acting as someone else (or anonymous). */
  as(token: string | null): NovaClient {
    return new NovaClient(this.baseUrl, token);
  }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.baseUrl}${path}`;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetchIdempotent(this.url(path), { method, headers: h, body: payload });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const parsed: unknown = type.includes('json') && text ? JSON.parse(text) : text;
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body ?? {});
  }
  put<T = unknown>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('PUT', path, body);
  }
  delete<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  async register(username: string, password: string): Promise<ApiResponse<AuthResultJson>> {
    const res = await this.post<AuthResultJson>('/api/v1/auth/register', { username, password });
    if (res.status === 201) this.token = res.body.token;
    return res;
  }

  async login(username: string, password: string): Promise<ApiResponse<AuthResultJson>> {
    const res = await this.post<AuthResultJson>('/api/v1/auth/login', { username, password });
    if (res.status === 200) this.token = res.body.token;
    return res;
  }

  me(): Promise<ApiResponse<UserInfo>> {
    return this.get<UserInfo>('/api/v1/me');
  }

  /** Registers a fresh user with a unique name and returns a client acting as them. */
  async newUser(prefix = 'user'): Promise<{ client: NovaClient; user: UserInfo }> {
    const c = this.as(null);
    const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`.slice(0, 32);
    const res = await c.register(name, 'password-123');
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { client: c, user: res.body.user };
  }
}
