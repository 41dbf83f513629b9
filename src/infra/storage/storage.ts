// The object-storage port: media sources, HLS renditions, thumbnails and recordings are objects
// under validated keys. Adapters: local filesystem (default) and S3.
// Its errors are its own (ObjectNotFoundError, InvalidKeyError); src/http/errors.ts maps them to
// problem+json.
import type { Readable } from 'node:stream';

/**
 * The storage's own errors. `status` is the HTTP status src/http/errors.ts maps each to, kept on
 * the error so code that only classifies (tests, logs) need not import the mapping.
 */
export abstract class StorageError extends Error {
  abstract readonly status: 400 | 404 | 503;
}

/** No object under this key (or the key resolves outside the storage root). */
export class ObjectNotFoundError extends StorageError {
  readonly status = 404;
  constructor() {
    super('Object not found.');
  }
}

/**
 * The store did not answer usably (a timeout, a 5xx, a reset connection, a body cut short) after
 * a few attempts: worth retrying shortly, unlike a missing object.
 */
export class StorageUnavailableError extends StorageError {
  readonly status = 503;
  constructor(
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super('Object storage is temporarily unavailable.', options);
  }
}

/** A key or prefix that could escape the storage root or confuse an adapter. */
export class InvalidKeyError extends StorageError {
  readonly status = 400;
  constructor(readonly reason: string) {
    super(`Invalid storage key: ${reason}.`);
  }
}

export interface ObjectInfo {
  size: number;
  contentType?: string;
  lastModified?: Date;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export type Body = Buffer | string | Readable;

export interface ObjectStorage {
  readonly kind: 'local' | 's3';
  put(key: string, body: Body, opts?: { contentType?: string; cacheControl?: string }): Promise<void>;
  putFile(key: string, filePath: string, opts?: { contentType?: string; cacheControl?: string }): Promise<void>;
  /** Streams an object (or a byte range of it); throws ObjectNotFoundError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a whole (small) object into memory. */
  getBuffer(key: string): Promise<Buffer>;
  /** Copies an object to a local file (for tools such as ffmpeg that need a path). */
  download(key: string, filePath: string): Promise<void>;
  stat(key: string): Promise<ObjectInfo | null>;
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string): Promise<string[]>;
  /**
   * Where the object's file is (or would be written) on this machine, for tools that take a path
   * (ffmpeg) or a hard link; null when objects are not local files (S3: download instead).
   */
  localPath(key: string): string | null;
  /** A time-limited direct URL (S3), or null when objects are served by Nova itself (local). */
  presignedUrl(key: string, expiresInSeconds: number): Promise<string | null>;
  /** Throws when the storage cannot be reached or written. */
  ping(): Promise<void>;
}

const KEY_RE = /^[A-Za-z0-9._\-/]+$/;

/** Rejects keys that could escape the storage root or confuse an adapter. */
export function assertKey(key: string): void {
  const bad = (why: string): never => {
    throw new InvalidKeyError(why);
  };
  if (typeof key !== 'string' || key.length === 0) bad('empty');
  if (key.length > 1024) bad('longer than 1024 characters');
  if (!KEY_RE.test(key)) bad('only letters, digits, ".", "_", "-" and "/" are allowed');
  if (key.startsWith('/')) bad('absolute keys are not allowed');
  const segments = key.split('/');
  if (segments.some((s) => s === '..' || s === '.')) bad('"." and ".." segments are not allowed');
  if (segments.slice(0, -1).some((s) => s === '')) bad('empty path segments are not allowed');
}

/** Prefixes may end with "/", otherwise follow the key rules. */
export function assertPrefix(prefix: string): void {
  assertKey(prefix.endsWith('/') ? `${prefix}x` : prefix);
}

const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  vtt: 'text/vtt',
  json: 'application/json',
  onnx: 'application/octet-stream',
};

export function contentTypeFor(key: string): string {
  const ext = key.split('.').pop()?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}
