// Turns an ended broadcast into a normal video: the stream-copy parts of its publish sessions are
// joined (no re-encode) and handed to the VOD pipeline, which transcodes them like an upload.
// Also removes the broadcast's live HLS objects once nobody publishes to it any more.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../infra/logger.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { runMediaTool } from '../media/ffmpeg.process.js';
import type { BroadcastRow, LiveRepository } from './live.repository.js';
import { liveHlsPrefixFor, segmentPrefixFor } from './live.ingest.js';

/** What the VOD side offers: a finished file becomes a video (queued for transcoding). */
export interface RecordingSink {
  createFromFile(input: { ownerId: string; title: string; filePath: string; sourceStreamId: string }): Promise<{ id: string }>;
}

export interface RecordingOptions {
  ffmpeg: () => string;
  /** Resolved when needed: the VOD capability may be wired after live. */
  sink: () => RecordingSink | null;
  timeoutSeconds: number;
  tmpDir?: string;
}

export class RecordingFinalizer {
  private running = false;
  private readonly aborter = new AbortController();

  constructor(
    private readonly repo: LiveRepository,
    private readonly storage: ObjectStorage,
    private readonly logger: Logger,
    private readonly opts: RecordingOptions,
  ) {}

  /** Stops the join in progress (its ffmpeg is killed); its stream goes back to pending. */
  abort(): void {
    this.aborter.abort();
  }

  /** Finalizes the ended streams whose publishers are gone; safe to call from several processes. */
  async run(): Promise<void> {
    if (this.running || this.aborter.signal.aborted) return;
    this.running = true;
    try {
      for (const row of await this.repo.findRecordingsToAssemble()) {
        if (!(await this.repo.setRecordingState(row, 'pending', 'processing'))) continue;
        await this.finalize(row);
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * A single-use stream's live objects all go. A reusable stream may be live again already: only
   * this broadcast's segments go (their names start with their session's prefix), and the
   * playlists only while the stream is not live.
   */
  private async removeLiveObjects(b: BroadcastRow, sessionIds: string[]): Promise<void> {
    const stream = await this.repo.findById(b.stream_id);
    const prefix = liveHlsPrefixFor(b.stream_id);
    if (!stream?.reusable) {
      await this.storage.deletePrefix(prefix);
      return;
    }
    const mine = new Set(sessionIds.map(segmentPrefixFor));
    const live = stream.status === 'live';
    for (const key of await this.storage.list(prefix)) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (name.endsWith('.m3u8') ? !live : mine.has(name.split('_')[0])) await this.storage.delete(key).catch(() => {});
    }
  }

  private async finalize(row: BroadcastRow): Promise<void> {
    const sessions = await this.repo.sessionsOfBroadcast(row.id);
    const parts = sessions.map((s) => s.recording_key).filter((k): k is string => k !== null);
    await this.removeLiveObjects(
      row,
      sessions.map((s) => s.id),
    ).catch((err) => this.logger.warn({ err, streamId: row.stream_id }, 'live HLS cleanup failed'));
    if (parts.length === 0) {
      await this.repo.setRecordingState(row, 'processing', 'done', null);
      return;
    }
    const stream = await this.repo.findById(row.stream_id);
    if (!stream) return;
    const sink = this.opts.sink();
    if (!sink) {
      // Parts stay in storage so the recording is not lost while no video pipeline is wired.
      this.logger.warn({ streamId: row.stream_id }, 'no video pipeline to hand the live recording to');
      await this.repo.setRecordingState(row, 'processing', 'failed', null);
      return;
    }
    const dir = await fsp.mkdtemp(path.join(this.opts.tmpDir ?? os.tmpdir(), 'nova-rec-'));
    try {
      const files: string[] = [];
      for (const [i, key] of parts.entries()) {
        const file = path.join(dir, `part-${i}.ts`);
        if (this.aborter.signal.aborted) throw new Error('aborted');
        await this.storage.download(key, file);
        files.push(file);
      }
      const list = path.join(dir, 'parts.txt');
      await fsp.writeFile(list, files.map((f) => `file '${f}'`).join('\n'));
      const out = path.join(dir, 'recording.mp4');
      const res = await runMediaTool({
        bin: this.opts.ffmpeg(),
        args: ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-y', out],
        timeoutSeconds: this.opts.timeoutSeconds,
        signal: this.aborter.signal,
      });
      if (res.code !== 0) throw new Error(`joining the recording failed: ${res.stderr.slice(-300)}`);
      const video = await sink.createFromFile({ ownerId: stream.creator_id, title: stream.title, filePath: out, sourceStreamId: stream.id });
      await this.repo.setRecordingState(row, 'processing', 'done', video.id);
      for (const key of parts) await this.storage.delete(key).catch(() => {});
      this.logger.info({ streamId: row.stream_id, broadcastId: row.id, videoId: video.id, parts: parts.length }, 'live recording handed to the video pipeline');
    } catch (err) {
      if (this.aborter.signal.aborted) {
        // Shutting down: another process (or this one after a restart) assembles it again.
        await this.repo.setRecordingState(row, 'processing', 'pending', null).catch(() => {});
        return;
      }
      this.logger.warn({ err, streamId: row.stream_id }, 'live recording failed');
      await this.repo.setRecordingState(row, 'processing', 'failed', null);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}
