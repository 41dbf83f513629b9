// Serves the web app (built by Vite into dist/web/app) at `/`: hashed assets from memory
// (src/web/web.assets.ts) with a year-long cache, index.html uncached for every page path the app
// routes itself, embed.html (the player alone, which other sites may frame) at /embed/{id}, and a
// plain explanation page when the bundle was not built.
// Registered last, so API paths keep their problem+json 404s.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fresh from 'fresh';
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { notFoundHandler } from '../http/errors.js';
import { AssetCache, chooseEncoding } from './web.assets.js';

/** Paths that belong to the server, never to the app: unknown ones there stay problem+json 404s. */
const SERVER_PATHS = /^\/(api|docs|metrics|healthz|readyz)(\/|$)/;

// The app talks only to its own origin; media and thumbnails may come from object storage (S3 or
// a CDN) on another origin. hls.js runs its demuxer in a blob: worker.
const CSP_PARTS = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' ws: wss: http: https:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
];
const CSP = [...CSP_PARTS, "frame-ancestors 'none'"].join('; ');
/** The embedded player is made to sit in other sites' iframes. */
const EMBED_CSP = [...CSP_PARTS, 'frame-ancestors *'].join('; ');
const EMBED_PATH = /^\/embed\/[^/]+\/?$/;
const ASSET_MAX_AGE_S = 365 * 24 * 3600;

/** dist/web/app of this checkout: the module lives in src/web (tsx) or dist/web (compiled). */
export function defaultWebDir(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.join(root, 'dist', 'web', 'app');
}

function wantsHtml(req: FastifyRequest, pathname: string): boolean {
  const accept = req.headers.accept ?? '';
  if (accept.includes('text/html')) return true;
  // `curl http://host/` (Accept: */*) gets the app too; other paths without text/html do not.
  return pathname === '/' && (accept === '' || accept.includes('*/*'));
}

function notBuiltPage(webDir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nova: web app not built</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The web app has not been built</h1>
<p>This Nova server is running, but there is no web app bundle at <code>${webDir.replace(/[<>&"]/g, '')}</code>.</p>
<p>Build it with <code>npm run build</code> (which <code>npm start</code> runs for you), then reload this page.</p>
<p>The API works meanwhile: see <a href="/docs">/docs</a>.</p>
</body></html>`;
}

interface CachedIndex {
  body: Buffer;
  etag: string;
  mtimeMs: number;
  checkedAt: number;
}

/**
 * index.html answers every page load, so it is kept in memory and looked at on disk at most once a
 * second: a rebuild while the server runs is still picked up, without a file read per request.
 */
class IndexFile {
  private cached: CachedIndex | null = null;
  private checking: Promise<CachedIndex | null> | null = null;

  constructor(private readonly file: string) {}

  /** The page when it was looked at on disk within the last second; no I/O, no promise. */
  fresh(): CachedIndex | null {
    return this.cached && Date.now() - this.cached.checkedAt < 1000 ? this.cached : null;
  }

  get(): Promise<CachedIndex | null> {
    const fresh = this.fresh();
    if (fresh) return Promise.resolve(fresh);
    // One look at the disk for every request that arrives meanwhile: under load, a stat per
    // request in that window cost more than all the other page work (bench:web profile).
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<CachedIndex | null> {
    const now = Date.now();
    try {
      const st = await fs.promises.stat(this.file);
      if (this.cached && this.cached.mtimeMs === st.mtimeMs) {
        this.cached.checkedAt = now;
        return this.cached;
      }
      const body = await fs.promises.readFile(this.file);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      this.cached = { body, etag, mtimeMs: st.mtimeMs, checkedAt: now };
    } catch {
      this.cached = null;
    }
    return this.cached;
  }
}

export function webCapability(c: Container): Capability {
  const webDir = c.config.webDir ?? defaultWebDir();
  const index = new IndexFile(path.join(webDir, 'index.html'));
  const embed = new IndexFile(path.join(webDir, 'embed.html'));
  // Asset names carry a content hash: a changed file gets a new name, so caching forever is safe.
  const assets = new AssetCache(path.join(webDir, 'assets'), { cacheControl: `public, max-age=${ASSET_MAX_AGE_S}, immutable` });

  const sendAsset = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const file = (req.params as { '*': string })['*'];
    const h = req.headers;
    // Byte ranges and the rarer preconditions are left to @fastify/send, which reads the file.
    const fromMemory = h.range === undefined && h['if-match'] === undefined && h['if-unmodified-since'] === undefined;
    const asset = fromMemory ? (assets.fresh(file) ?? (await assets.get(file))) : null;
    if (!asset) return reply.header('x-content-type-options', 'nosniff').sendFile(path.posix.join('assets', file), webDir, { maxAge: ASSET_MAX_AGE_S * 1000, immutable: true, dotfiles: 'deny' });
    reply.headers(asset.headers);
    // The same test @fastify/send makes: weak ETag match, else Last-Modified; `no-cache` wants the body.
    if (fresh(h, asset.headers)) return reply.removeHeader('content-type').code(304).send();
    const encoding = chooseEncoding(h['accept-encoding'], asset);
    if (encoding === 'identity') return reply.send(asset.body);
    return reply.header('content-encoding', encoding).send(encoding === 'br' ? asset.br : asset.gzip);
  };

  const answerIndex = (req: FastifyRequest, reply: FastifyReply, page: CachedIndex | null, embedded: boolean): FastifyReply => {
    if (!page) {
      return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(notBuiltPage(webDir));
    }
    // index.html names the current hashed assets, so it must be revalidated on every load.
    reply
      .header('content-security-policy', embedded ? EMBED_CSP : CSP)
      .header('cache-control', 'no-cache')
      .header('etag', page.etag);
    if (fresh(req.headers, { etag: page.etag })) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(page.body);
  };

  /**
   * Sent before it returns when index.html was looked at within the last second (nearly every page
   * load): no promise, which the route then does not return either. Otherwise the promise of it.
   */
  const sendIndex = (req: FastifyRequest, reply: FastifyReply, embedded: boolean): Promise<FastifyReply> | undefined => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', embedded ? 'strict-origin-when-cross-origin' : 'same-origin');
    const file = embedded ? embed : index;
    const page = file.fresh();
    if (page) {
      answerIndex(req, reply, page, embedded);
      return undefined;
    }
    return file.get().then((p) => answerIndex(req, reply, p, embedded));
  };

  return {
    name: 'web',
    async routes(app: NovaApp) {
      await app.register(fastifyStatic, { root: webDir, serve: false, decorateReply: true });

      app.get('/assets/*', { schema: { hide: true } }, sendAsset);

      // Not async: a page answered from memory costs no promise (see sendIndex).
      app.get('/*', { schema: { hide: true } }, (req, reply) => {
        const pathname = req.url.split('?')[0];
        if (SERVER_PATHS.test(pathname) || !wantsHtml(req, pathname)) {
          notFoundHandler(req, reply);
          return undefined;
        }
        return sendIndex(req, reply, EMBED_PATH.test(pathname));
      });
    },
  };
}
