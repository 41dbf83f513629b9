// Where tus uploads are written: @tus/file-store under DATA_DIR/uploads (its metadata is on disk,
// so an upload resumes after a restart), or @tus/s3-store straight into the bucket when S3 is
// configured. Also maps upload ids to URLs (/api/v1/uploads/<video_id>/<key>), turns a finished
// upload into the video's stored source without copying it, and finds and removes a video's uploads.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileStore } from '@tus/file-store';
import { S3Store } from '@tus/s3-store';
import type { DataStore } from '@tus/server';
import type { S3Config } from '../config.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { sourceKey } from '../videos/videos.keys.js';

const VIDEO_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPLOAD_KEY = /^[0-9a-f]{32}$/;

export interface UploadRef {
  videoId: string;
  key: string;
}

export function isUploadRef(videoId: string, key: string): boolean {
  return VIDEO_ID.test(videoId) && UPLOAD_KEY.test(key);
}

export interface UploadStore {
  readonly datastore: DataStore;
  idFor(ref: UploadRef): string;
  refOf(id: string): UploadRef | null;
  newId(videoId: string): string;
  /** Makes a finished upload the video's source object; returns its key and size. */
  adopt(id: string, size: number): Promise<{ key: string; size: number }>;
  /** Removes the source object `adopt` made, for an upload its video did not take after all. */
  unadopt(id: string): Promise<void>;
  /** Ids of every upload of this video still stored, finished or not. */
  uploadsOf(videoId: string): Promise<string[]>;
  /** Removes an upload and everything stored for it; an upload already gone is no error. */
  discard(id: string): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return (err as { status_code?: number } | null)?.status_code === 404;
}

function newKey(): string {
  return randomBytes(16).toString('hex');
}

/** Uploads as files in one folder (ids `<video_id>_<key>`), made the source by a hard link. */
export class FileUploadStore implements UploadStore {
  readonly datastore: FileStore;

  constructor(
    private readonly dir: string,
    private readonly storage: ObjectStorage,
    expiryMs: number,
  ) {
    this.datastore = new FileStore({ directory: dir, expirationPeriodInMilliseconds: expiryMs });
  }

  idFor(ref: UploadRef): string {
    return `${ref.videoId}_${ref.key}`;
  }

  refOf(id: string): UploadRef | null {
    const [videoId, key] = id.split('_');
    return videoId && key && isUploadRef(videoId, key) ? { videoId, key } : null;
  }

  newId(videoId: string): string {
    return this.idFor({ videoId, key: newKey() });
  }

  async adopt(id: string, size: number): Promise<{ key: string; size: number }> {
    const ref = this.refOf(id);
    if (!ref) throw new Error(`not an upload id: ${id}`);
    const file = path.join(this.dir, id);
    const key = sourceKey(ref.videoId);
    const target = this.storage.localPath(key);
    if (target !== null) {
      // A hard link makes the source without copying gigabytes, and leaves the finished tus upload
      // in place so a client that missed the last response still sees it complete on HEAD.
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rm(target, { force: true });
      try {
        await fsp.link(file, target);
        return { key, size };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
      }
    }
    await this.storage.putFile(key, file);
    return { key, size };
  }

  async unadopt(id: string): Promise<void> {
    const ref = this.refOf(id);
    if (ref) await this.storage.delete(sourceKey(ref.videoId));
  }

  async uploadsOf(videoId: string): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids = new Set<string>();
    for (const name of names) {
      // An upload is its data file and `<id>.json`; either alone still belongs to it.
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
      const ref = this.refOf(id);
      if (ref?.videoId === videoId && this.idFor(ref) === id) ids.add(id);
    }
    return [...ids];
  }

  async discard(id: string): Promise<void> {
    if (!this.refOf(id)) return;
    // The data file first: without it the upload reads as gone, whatever happens to its metadata.
    await fsp.rm(path.join(this.dir, id), { force: true });
    await fsp.rm(path.join(this.dir, `${id}.json`), { force: true });
  }
}

/** @tus/s3-store, plus what removing every upload of a video needs from the bucket. */
class VideoS3Store extends S3Store {
  /** Keys of the multipart uploads in progress under `prefix`. */
  async multipartKeys(prefix: string): Promise<string[]> {
    const keys = new Set<string>();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.client.listMultipartUploads({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker });
      for (const u of res.Uploads ?? []) if (u.Key) keys.add(u.Key);
      if (!res.IsTruncated) return [...keys];
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  }

  /** Aborts the multipart upload and deletes its info, its incomplete last part and a finished object. */
  async discard(id: string): Promise<void> {
    const keys = [this.partKey(id, true)];
    try {
      await this.remove(id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // No info object (never written, or removed): abort what the bucket still lists under the key.
      // Or a finished upload, whose multipart upload is complete: its object and info go too.
      await this.abortListed(id).catch(() => {});
      keys.push(id, this.infoKey(id));
    }
    await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
  }

  private async abortListed(key: string): Promise<void> {
    const res = await this.client.listMultipartUploads({ Bucket: this.bucket, Prefix: key });
    for (const u of res.Uploads ?? []) {
      if (u.Key === key && u.UploadId) await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: key, UploadId: u.UploadId });
    }
  }
}

/** Uploads as multipart objects in the bucket, keyed so the finished object already is the source. */
export class S3UploadStore implements UploadStore {
  readonly datastore: VideoS3Store;

  constructor(cfg: S3Config, expiryMs: number) {
    this.datastore = new VideoS3Store({
      partSize: 8 * 1024 * 1024,
      expirationPeriodInMilliseconds: expiryMs,
      // Tags need S3's object-tagging API, which S3-compatible servers do not all have; expired
      // uploads are found by listing multipart uploads instead.
      useTags: false,
      s3ClientConfig: {
        bucket: cfg.bucket,
        region: cfg.region,
        endpoint: cfg.endpoint,
        forcePathStyle: cfg.forcePathStyle,
        credentials: cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    });
  }

  idFor(ref: UploadRef): string {
    return `videos/${ref.videoId}/source/${ref.key}`;
  }

  refOf(id: string): UploadRef | null {
    const m = /^videos\/([^/]+)\/source\/([^/]+)$/.exec(id);
    return m && isUploadRef(m[1], m[2]) ? { videoId: m[1], key: m[2] } : null;
  }

  newId(videoId: string): string {
    return this.idFor({ videoId, key: newKey() });
  }

  async adopt(id: string, size: number): Promise<{ key: string; size: number }> {
    return { key: id, size };
  }

  async unadopt(): Promise<void> {
    // The source is the upload's own object, which discard removes.
  }

  /** Uploads in progress only: the info and part objects of every upload go with the video's objects. */
  async uploadsOf(videoId: string): Promise<string[]> {
    const keys = await this.datastore.multipartKeys(`videos/${videoId}/source/`);
    return keys.filter((k) => this.refOf(k)?.videoId === videoId);
  }

  async discard(id: string): Promise<void> {
    if (!this.refOf(id)) return;
    await this.datastore.discard(id);
  }
}
