// The built app's hashed assets, kept in memory: a request for one answers from a buffer with its
// headers worked out once, instead of stat + open + read + close per request (on bench:web that
// file work was about half of Nova's CPU for the entry script). Each file is looked at on disk at
// most once a second, so a rebuild (or a deleted file) is noticed. Compressible files also get
// gzip and brotli bodies, made once in the background and chosen by Accept-Encoding.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import negotiate from '@fastify/accept-negotiator';
import send from '@fastify/send';

/** One `assets/` name: path segments that never start with a dot (no dotfiles, no `..`). */
const SAFE_NAME = /^(?:[\w-][\w.-]*\/)*[\w-][\w.-]*$/;
/** Files larger than this are streamed from disk (by the caller's fallback) rather than held. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** All held bodies together (a bundle is well under 1 MiB today); past this, files are streamed. */
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
const COMPRESSIBLE = /^(?:text\/|application\/(?:javascript|json|xml|wasm|manifest\+json)|image\/svg\+xml)/;
/** Below this a compressed body saves less than its headers cost. */
const MIN_COMPRESS_BYTES = 1024;

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

export type Encoding = 'br' | 'gzip' | 'identity';

export interface CachedAsset {
  body: Buffer;
  /** Present once made, for compressible files where they are smaller than the body. */
  br?: Buffer;
  gzip?: Buffer;
  /** Response headers, the same for every request (content-length and -encoding excepted). */
  headers: Record<string, string>;
  size: number;
  mtimeMs: number;
  checkedAt: number;
}

/** What @fastify/send sends for the same file, so a client's validators hold across both paths. */
function sendStyleEtag(size: number, mtime: Date): string {
  return `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
}

function contentType(file: string): string {
  const type = send.mime.getType(file);
  if (!type) return 'application/octet-stream';
  return send.isUtf8MimeType(type) ? `${type}; charset=utf-8` : type;
}

/** The best encoding the client accepts among those the asset has (brotli first; q=0 refuses). */
export function chooseEncoding(acceptEncoding: string | undefined, asset: CachedAsset): Encoding {
  if (!acceptEncoding || (!asset.br && !asset.gzip)) return 'identity';
  const offered: Encoding[] = asset.br && asset.gzip ? BOTH : asset.br ? BR_ONLY : GZIP_ONLY;
  return negotiate(acceptEncoding, offered) ?? 'identity';
}
const BOTH: Encoding[] = ['br', 'gzip'];
const BR_ONLY: Encoding[] = ['br'];
const GZIP_ONLY: Encoding[] = ['gzip'];

export class AssetCache {
  private readonly entries = new Map<string, CachedAsset>();
  private readonly loading = new Map<string, Promise<CachedAsset | null>>();
  private readonly compressing = new Set<Promise<void>>();
  private totalBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly opts: { cacheControl: string; checkIntervalMs?: number; compress?: boolean },
  ) {}

  /** The held asset at `name` when it was looked at on disk within the last second; no I/O. */
  fresh(name: string): CachedAsset | undefined {
    const hit = this.entries.get(name);
    return hit && Date.now() - hit.checkedAt < (this.opts.checkIntervalMs ?? 1000) ? hit : undefined;
  }

  /**
   * The asset at `name` under the assets folder, or null when it is not held: an unsafe or unknown
   * name, a missing or too-large file. The caller then serves it from disk (or answers 404).
   */
  async get(name: string): Promise<CachedAsset | null> {
    const hit = this.entries.get(name);
    if (hit && Date.now() - hit.checkedAt < (this.opts.checkIntervalMs ?? 1000)) return hit;
    if (!SAFE_NAME.test(name)) return null;
    let pending = this.loading.get(name);
    if (!pending) {
      pending = this.load(name, hit).finally(() => this.loading.delete(name));
      this.loading.set(name, pending);
    }
    return pending;
  }

  private async load(name: string, previous: CachedAsset | undefined): Promise<CachedAsset | null> {
    const file = path.join(this.dir, name);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch {
      this.drop(name);
      return null;
    }
    if (!st.isFile()) {
      this.drop(name);
      return null;
    }
    if (previous && previous.mtimeMs === st.mtimeMs && previous.size === st.size) {
      previous.checkedAt = Date.now();
      return previous;
    }
    this.drop(name);
    if (st.size > MAX_FILE_BYTES || this.totalBytes + st.size > MAX_TOTAL_BYTES) return null;
    let body: Buffer;
    try {
      body = await fs.promises.readFile(file);
    } catch {
      return null;
    }
    // Written between the stat and the read: try again on the next request.
    if (body.length !== st.size) return null;
    const type = contentType(file);
    const compressible = this.opts.compress !== false && COMPRESSIBLE.test(type) && body.length >= MIN_COMPRESS_BYTES;
    const headers: Record<string, string> = {
      'accept-ranges': 'bytes',
      'cache-control': this.opts.cacheControl,
      'last-modified': st.mtime.toUTCString(),
      etag: sendStyleEtag(st.size, st.mtime),
      'content-type': type,
      'x-content-type-options': 'nosniff',
    };
    // Caches must key on Accept-Encoding from the first response on, before the bodies exist.
    if (compressible) headers.vary = 'Accept-Encoding';
    const entry: CachedAsset = { body, headers, size: st.size, mtimeMs: st.mtimeMs, checkedAt: Date.now() };
    this.entries.set(name, entry);
    this.totalBytes += body.length;
    if (compressible) {
      const done = this.compress(name, entry).finally(() => this.compressing.delete(done));
      this.compressing.add(done);
    }
    return entry;
  }

  /** Off the request path: until these finish, the asset is sent as it is. */
  private async compress(name: string, entry: CachedAsset): Promise<void> {
    try {
      const [br, gz] = await Promise.all([
        brotli(entry.body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: entry.body.length } }),
        gzip(entry.body, { level: 9 }),
      ]);
      // Replaced or dropped meanwhile: its bytes are no longer counted.
      if (this.entries.get(name) !== entry) return;
      if (br.length < entry.body.length) {
        entry.br = br;
        this.totalBytes += br.length;
      }
      if (gz.length < entry.body.length) {
        entry.gzip = gz;
        this.totalBytes += gz.length;
      }
    } catch {
      // Sent uncompressed, as before.
    }
  }

  /** Resolves once the loads and compressions under way have finished. */
  async settled(): Promise<void> {
    await Promise.all(this.loading.values());
    await Promise.all(this.compressing);
  }

  private drop(name: string): void {
    const old = this.entries.get(name);
    if (!old) return;
    this.entries.delete(name);
    this.totalBytes -= old.body.length + (old.br?.length ?? 0) + (old.gzip?.length ?? 0);
  }
}
