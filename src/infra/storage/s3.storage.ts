// S3 object storage (AWS S3 or any S3-compatible server). Large bodies go up as multipart
// uploads through @aws-sdk/lib-storage; reads stream; presigned URLs let clients fetch directly.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../../config.js';
import { ObjectNotFoundError, StorageUnavailableError, assertKey, assertPrefix, contentTypeFor, type Body, type ByteRange, type ObjectInfo, type ObjectStorage } from './storage.js';

const PART_SIZE = 8 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Reads are tried this many times when the store fails transiently. */
const READ_ATTEMPTS = 3;

/**
 * Worth another try: the store answered 5xx (or 429), or never answered (a reset or closed
 * connection, a timeout), or a body ended short. A 4xx such as AccessDenied is a configuration
 * error and is not retried.
 */
function isTransient(err: unknown): boolean {
  if (err instanceof ShortBodyError) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return true;
}

class ShortBodyError extends Error {
  constructor(got: number, expected: number) {
    super(`object body ended after ${got} of ${expected} bytes`);
  }
}

/** Runs a read, retrying transient failures; a missing object is not retried. */
async function withReadRetries<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError();
      if (err instanceof ObjectNotFoundError || !isTransient(err)) throw err;
      if (attempt >= READ_ATTEMPTS) throw new StorageUnavailableError(1, { cause: err });
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;

  constructor(cfg: S3Config) {
    this.bucket = cfg.bucket;
    this.client = new S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      credentials: cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined,
      // Checksums only where S3 requires them: S3-compatible servers differ in trailer support.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Body, opts?: { contentType?: string; cacheControl?: string }): Promise<void> {
    assertKey(key);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: opts?.contentType ?? contentTypeFor(key), CacheControl: opts?.cacheControl },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async putFile(key: string, filePath: string, opts?: { contentType?: string; cacheControl?: string }): Promise<void> {
    const size = (await fs.promises.stat(filePath)).size;
    // Small files go in one request with a known length; large ones stream as multipart.
    const body = size <= PART_SIZE ? await fs.promises.readFile(filePath) : fs.createReadStream(filePath);
    await this.put(key, body, opts);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertKey(key);
    return withReadRetries(async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
      return res.Body as Readable;
    });
  }

  /**
   * The whole object, read again when the body fails or ends short of its Content-Length (an
   * S3-compatible server may serve an object while it is being overwritten, as live playlists are).
   */
  async getBuffer(key: string): Promise<Buffer> {
    assertKey(key);
    return withReadRetries(async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const chunks: Buffer[] = [];
      for await (const c of res.Body as Readable) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (res.ContentLength !== undefined && body.length !== res.ContentLength) throw new ShortBodyError(body.length, res.ContentLength);
      return body;
    });
  }

  async download(key: string, filePath: string): Promise<void> {
    await pipeline(await this.get(key), fs.createWriteStream(filePath));
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertKey(key);
    try {
      return await withReadRetries(async () => {
        const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return { size: res.ContentLength ?? 0, contentType: res.ContentType, lastModified: res.LastModified };
      });
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') assertPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
    return keys.length;
  }

  async presignedUrl(key: string, expiresInSeconds: number): Promise<string | null> {
    assertKey(key);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSeconds });
  }

  localPath(): null {
    return null;
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
