// Copies a transcode's HLS output into object storage. While ffmpeg runs it mirrors the growing EVENT
// playlists (segments first, then the playlists that list them) so playback can start before the
// ladder is done; at the end it uploads whatever is left and the final VOD playlists, master last.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../infra/logger.js';
import type { ObjectStorage } from '../infra/storage/storage.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';
const SYNC_EVERY_MS = 1000;

/** URIs a playlist references (variants, segments, init sections), relative to the playlist. */
export function playlistUris(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m && /^#EXT-X-(MAP|MEDIA|I-FRAME-STREAM-INF)/.test(line)) out.push(m[1]);
      continue;
    }
    out.push(line);
  }
  return out;
}

/** Resolves a playlist URI against the playlist's own path; null for anything leaving the output folder. */
export function resolveUri(playlistRel: string, uri: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/')) return null;
  const rel = path.posix.normalize(path.posix.join(path.posix.dirname(playlistRel), uri.split(/[?#]/)[0]));
  if (rel.startsWith('..') || rel.startsWith('/')) return null;
  return rel;
}

export class HlsPublisher {
  private readonly uploaded = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private masterRel: string | null = null;
  private firstSynced = false;

  constructor(
    private readonly storage: ObjectStorage,
    /** Storage prefix for this run's HLS files, ending with "/". */
    private readonly prefix: string,
    private readonly outDir: string,
    private readonly logger: Logger,
  ) {}

  key(rel: string): string {
    return `${this.prefix}${rel}`;
  }

  /**
   * Starts mirroring the growing playlists; `onFirst` runs once the master and every variant's
   * first segments are stored, i.e. when the stored EVENT playlist plays.
   */
  startEarly(masterPath: string, onFirst: (masterKey: string) => Promise<void>): void {
    this.masterRel = path.relative(this.outDir, path.resolve(this.outDir, masterPath)).split(path.sep).join('/');
    const tick = () => {
      this.syncing = this.syncing.then(async () => {
        try {
          await this.syncEarly();
          if (!this.firstSynced && this.masterRel) {
            this.firstSynced = true;
            await onFirst(this.key(this.masterRel));
          }
        } catch (err) {
          this.logger.warn({ err }, 'early HLS upload failed; retrying on the next tick');
        }
      });
    };
    tick();
    this.timer = setInterval(tick, SYNC_EVERY_MS);
  }

  async stopEarly(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.syncing;
  }

  private async read(rel: string): Promise<string | null> {
    try {
      return await fsp.readFile(path.join(this.outDir, rel), 'utf8');
    } catch {
      return null;
    }
  }

  private async putFile(rel: string): Promise<number> {
    const file = path.join(this.outDir, rel);
    const size = (await fsp.stat(file)).size;
    await this.storage.putFile(this.key(rel), file, { cacheControl: IMMUTABLE });
    this.uploaded.add(rel);
    return size;
  }

  /** One mirror pass: for each variant, its new segments, then its playlist; the master once. */
  private async syncEarly(): Promise<void> {
    if (!this.masterRel) return;
    const master = await this.read(this.masterRel);
    if (master === null) return;
    for (const uri of playlistUris(master)) {
      const rel = resolveUri(this.masterRel, uri);
      if (!rel) continue;
      const text = await this.read(rel);
      if (text === null) continue;
      for (const segUri of playlistUris(text)) {
        const seg = resolveUri(rel, segUri);
        if (seg && !this.uploaded.has(seg)) await this.putFile(seg);
      }
      await this.storage.put(this.key(rel), text, { contentType: 'application/vnd.apple.mpegurl', cacheControl: NO_CACHE });
    }
    if (!this.uploaded.has(this.masterRel)) {
      await this.storage.put(this.key(this.masterRel), master, { contentType: 'application/vnd.apple.mpegurl', cacheControl: NO_CACHE });
      this.uploaded.add(this.masterRel);
    }
  }

  /**
   * Uploads every output not stored yet: media files first, then playlists, the master last, so a
   * reader that finds a playlist finds what it lists. Reports bytes done as a fraction.
   */
  async uploadAll(files: string[], masterRel: string, onProgress: (fraction: number) => void): Promise<void> {
    const playlists = files.filter((f) => f.endsWith('.m3u8'));
    const media = files.filter((f) => !f.endsWith('.m3u8') && !this.uploaded.has(f));
    const sizes = await Promise.all(media.map(async (f) => (await fsp.stat(path.join(this.outDir, f))).size));
    const total = sizes.reduce((a, b) => a + b, 0) || 1;
    let done = 0;
    // Two uploads at a time: enough to hide per-request latency (S3) without hogging a small machine.
    let next = 0;
    const worker = async () => {
      while (next < media.length) {
        const i = next++;
        done += await this.putFile(media[i]);
        onProgress(done / total);
      }
    };
    await Promise.all([worker(), worker()]);
    const ordered = [...playlists.filter((p) => p !== masterRel), masterRel];
    for (const rel of ordered) {
      const text = await fsp.readFile(path.join(this.outDir, rel), 'utf8');
      await this.storage.put(this.key(rel), text, { contentType: 'application/vnd.apple.mpegurl', cacheControl: 'public, max-age=300' });
    }
    onProgress(1);
  }
}
