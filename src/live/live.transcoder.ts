// One ffmpeg per live publish session: FLV in on stdin, the live HLS ladder out to a temp dir,
// and an uploader that copies each finished segment, then its playlist, to object storage and
// removes segments that left the window (or keeps them all, listed in a history playlist, for a
// recorded DVR stream). Also keeps a stream copy of the input for the recording.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../infra/logger.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { startMediaProcess, type MediaProcess } from '../media/ffmpeg.process.js';
import { buildLiveFfmpegArgs, liveHistoryPlaylist, parseLiveSegments, parseMediaPlaylist, type LiveLadder, type LiveSegment } from '../media/live.args.js';

export interface TranscoderOptions {
  ffmpeg: string;
  ladder: LiveLadder;
  workDir: string;
  /** Storage prefix of this stream's live HLS (ends with "/"). */
  storagePrefix: string;
  segmentPrefix: string;
  listSize: number;
  startNumber: number;
  discontinuity: boolean;
  preset: string;
  record: boolean;
  storage: ObjectStorage;
  logger: Logger;
  /** ffmpeg failed on its own (not stopped by us). */
  onFailure: (reason: string) => void;
  /** Input bytes ffmpeg has not consumed yet beyond which it is considered unable to keep up. */
  maxBacklogBytes?: number;
  /**
   * Segments that left the playlist stay in storage until the broadcast's objects are removed,
   * listed in <rung>/history.m3u8 (clips reach back past the live window).
   */
  retainSegments?: boolean;
  /** How long a segment that left the playlist stays for players still fetching it; default one window. */
  retireGraceMs?: number;
}

interface RungState {
  lastPlaylist: string;
  uploaded: Set<string>;
  /** Uploaded segments no longer listed, with when they left (ms): deleted after a grace period. */
  retired: Map<string, number>;
  /** Every segment uploaded, in order (only with retainSegments). */
  history: LiveSegment[];
}

export class LiveTranscoder {
  private child: MediaProcess | null = null;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();
  private readonly rungs = new Map<string, RungState>();
  /** What ffmpeg's -progress reports last said: frames encoded, dropped and duplicated (totals). */
  readonly progress = { frames: 0, dropFrames: 0, dupFrames: 0 };
  private progressTail = '';
  /** Next media sequence number, for a resumed session to continue from. */
  nextSequence: number;
  readonly recordingPath: string | null;

  constructor(private readonly o: TranscoderOptions) {
    this.nextSequence = o.startNumber;
    this.recordingPath = o.record ? path.join(o.workDir, 'recording.ts') : null;
    for (const r of o.ladder.rungs) this.rungs.set(r.name, { lastPlaylist: '', uploaded: new Set(), retired: new Map(), history: [] });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get ladder(): LiveLadder {
    return this.o.ladder;
  }

  /** Spawns ffmpeg at once (synchronously), so the caller can write the first packets right after. */
  startSync(): void {
    const hlsDir = path.join(this.o.workDir, 'hls');
    for (const r of this.o.ladder.rungs) fs.mkdirSync(path.join(hlsDir, r.name), { recursive: true });
    const args = buildLiveFfmpegArgs({
      ladder: this.o.ladder,
      outDir: hlsDir,
      segmentPrefix: this.o.segmentPrefix,
      listSize: this.o.listSize,
      startNumber: this.o.startNumber,
      discontinuity: this.o.discontinuity,
      preset: this.o.preset,
      recordingPath: this.recordingPath,
    });
    // Own process group, so stopping kills anything ffmpeg started; stdin is the only input, so
    // if Nova dies ffmpeg sees end-of-file and exits instead of lingering.
    const child = startMediaProcess({
      bin: this.o.ffmpeg,
      args,
      stdin: true,
      stderrTailBytes: 4000,
      onStdout: (chunk) => this.onProgress(chunk),
      onError: (err) => {
        if (!this.stopping) this.o.onFailure(`ffmpeg could not be started: ${err.code ?? err.message}`);
      },
    });
    this.child = child;
    this.exited = child.closed.then(({ code, signal }) => {
      if (!this.stopping) {
        this.o.logger.warn({ code, signal, stderr: child.stderrTail().slice(-1000) }, 'live ffmpeg exited');
        this.o.onFailure(`ffmpeg exited (${signal ?? code})`);
      }
    });
    this.pollTimer = setInterval(() => {
      this.polling = this.polling.then(() => this.sync()).catch((err) => this.o.logger.warn({ err }, 'live upload failed'));
    }, 200);
  }

  /** Reads key=value lines of ffmpeg's -progress output (a report every half second). */
  private onProgress(chunk: string): void {
    const lines = (this.progressTail + chunk).split('\n');
    this.progressTail = (lines.pop() ?? '').slice(-200);
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const value = Number(line.slice(eq + 1).trim());
      if (!Number.isFinite(value)) continue;
      switch (line.slice(0, eq).trim()) {
        case 'frame':
          this.progress.frames = value;
          break;
        case 'drop_frames':
          this.progress.dropFrames = value;
          break;
        case 'dup_frames':
          this.progress.dupFrames = value;
          break;
        default:
          break;
      }
    }
  }

  /** Feeds FLV bytes; false when ffmpeg fell too far behind (the caller should stop the session). */
  write(buf: Buffer): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || this.stopping || stdin.destroyed) return true;
    stdin.write(buf);
    return stdin.writableLength <= (this.o.maxBacklogBytes ?? 16 * 1024 * 1024);
  }

  /** One upload pass over every rung: new segments first, then the playlist that lists them. */
  private async sync(): Promise<void> {
    const hlsDir = path.join(this.o.workDir, 'hls');
    const now = Date.now();
    for (const [name, st] of this.rungs) {
      let text: string;
      try {
        text = await fsp.readFile(path.join(hlsDir, name, 'index.m3u8'), 'utf8');
      } catch {
        continue;
      }
      if (text === st.lastPlaylist || this.stopping) continue;
      const pl = parseMediaPlaylist(text);
      const timed = this.o.retainSegments ? new Map(parseLiveSegments(text).map((x) => [x.uri, x])) : null;
      let grew = false;
      for (const seg of pl.segments) {
        if (st.uploaded.has(seg) || !/^[A-Za-z0-9_-]+\.ts$/.test(seg)) continue;
        await this.o.storage.putFile(`${this.o.storagePrefix}${name}/${seg}`, path.join(hlsDir, name, seg), { contentType: 'video/mp2t' });
        st.uploaded.add(seg);
        const entry = timed?.get(seg);
        if (entry) {
          st.history.push(entry);
          grew = true;
        }
      }
      if (this.stopping) return;
      if (grew) {
        await this.o.storage.put(`${this.o.storagePrefix}${name}/history.m3u8`, liveHistoryPlaylist(st.history, this.o.ladder.segment_seconds), {
          contentType: 'application/vnd.apple.mpegurl',
          cacheControl: 'no-cache',
        });
      }
      await this.o.storage.put(`${this.o.storagePrefix}${name}/index.m3u8`, text, { contentType: 'application/vnd.apple.mpegurl', cacheControl: 'no-cache' });
      st.lastPlaylist = text;
      this.nextSequence = Math.max(this.nextSequence, pl.mediaSequence + pl.segments.length);
      const listed = new Set(pl.segments);
      for (const seg of st.uploaded) if (!listed.has(seg) && !st.retired.has(seg)) st.retired.set(seg, now);
      if (this.o.retainSegments) continue;
      // A player may have fetched the previous playlist: keep retired segments a while longer.
      const grace = this.o.retireGraceMs ?? this.o.listSize * this.o.ladder.segment_seconds * 1000;
      for (const [seg, at] of st.retired) {
        if (now - at < grace) continue;
        await this.o.storage.delete(`${this.o.storagePrefix}${name}/${seg}`).catch(() => {});
        st.retired.delete(seg);
        st.uploaded.delete(seg);
      }
    }
  }

  /** True once every rung has a playlist in storage. */
  get playable(): boolean {
    return [...this.rungs.values()].every((s) => s.lastPlaylist !== '');
  }

  /**
   * Stops uploading (so no final ENDLIST reaches viewers during a reconnect window), lets ffmpeg
   * flush the recording on end-of-input, and kills its process group if it does not exit in time.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.polling.catch(() => {});
    const child = this.child;
    if (!child) return;
    child.stdin?.end();
    const killer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(killer);
    this.kill();
  }

  private kill(): void {
    this.child?.kill();
  }

  /** Removes the temp dir (segments, playlists, the local recording copy). */
  async cleanup(): Promise<void> {
    // Retried: a directory emptied while something still lists it fails with ENOTEMPTY/EBUSY.
    await fsp.rm(this.o.workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  recordingSize(): number {
    if (!this.recordingPath) return 0;
    try {
      return fs.statSync(this.recordingPath).size;
    } catch {
      return 0;
    }
  }
}
