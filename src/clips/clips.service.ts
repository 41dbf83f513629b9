// Instant clips: a range of a ready video, or the last seconds of a live stream (its DVR window,
// or every segment kept for a recorded broadcast), becomes a new ready video by copying the
// segments that cover it. Who may clip: the creator and admins; viewers when the stream allows it.
import { v7 as uuidv7 } from 'uuid';
import type { AuthUser } from '../accounts/accounts.service.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from '../http/errors.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import { cleanLine } from '../shared/text.js';
import type { Logger } from '../infra/logger.js';
import { parseMediaPlaylist } from '../media/hls.playlist.js';
import { liveCodecs, liveMasterPlaylist, parseLiveSegments, type LiveLadder, type LiveSegment } from '../media/live.args.js';
import { liveHlsPrefixFor } from '../live/live.ingest.js';
import type { LiveService } from '../live/live.service.js';
import { publishDerivedVideo, derivedRunPrefix } from '../videos/videos.derived.js';
import type { StoredRendition, VideoRow } from '../videos/videos.repository.js';
import type { VideosService } from '../videos/videos.service.js';
import { copyCoveringSegments, coveringSegments, totalDuration } from './clips.cut.js';
import type { ClipsRepository } from './clips.repository.js';

export const CLIP_MIN_SECONDS = 1;
export const CLIP_MAX_SECONDS = 120;
/** Clips one account may cut per window: each copies up to 120 s of every rendition into storage. */
export const CLIPS_PER_WINDOW = 20;
export const CLIP_WINDOW_SECONDS = 600;

export interface ClipResult {
  video: VideoRow;
  start_seconds: number;
  end_seconds: number;
}

function checkLength(seconds: number, field: string): void {
  if (seconds < CLIP_MIN_SECONDS || seconds > CLIP_MAX_SECONDS) {
    throw new ValidationError(`A clip lasts ${CLIP_MIN_SECONDS} to ${CLIP_MAX_SECONDS} seconds; this one would last ${seconds} s.`, [
      { field, message: `must make a clip of ${CLIP_MIN_SECONDS}-${CLIP_MAX_SECONDS} s` },
    ]);
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export class ClipsService {
  constructor(
    private readonly repo: ClipsRepository,
    private readonly videos: VideosService,
    private readonly live: LiveService,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
  ) {}

  /** Bounds the storage one account can fill with clips; admins are not counted. */
  private async countClip(user: AuthUser): Promise<void> {
    if (user.role === 'admin') return;
    const hit = await this.limiter.hit(`clips:${user.id}`, CLIPS_PER_WINDOW, CLIP_WINDOW_SECONDS);
    if (!hit.allowed) throw new RateLimitedError(`At most ${CLIPS_PER_WINDOW} clips per ${CLIP_WINDOW_SECONDS / 60} minutes; try again later.`, hit.retryAfterSeconds);
  }

  /** Creator/admin of the stream a video or stream came from; anyone signed in when it allows clips. */
  private async assertMayClip(user: AuthUser, ownerId: string, streamId: string | null): Promise<void> {
    if (user.id === ownerId || user.role === 'admin') return;
    if (streamId) {
      const stream = await this.live.getStream(streamId);
      if (stream?.clips_by_viewers) return;
    }
    throw new ForbiddenError('Only the creator and admins can clip this; the creator has not enabled clips by viewers.');
  }

  /** The stream a video's media came from: its recording's stream, or that of the clip it is. */
  private async streamOf(v: VideoRow): Promise<string | null> {
    if (v.source_stream_id) return v.source_stream_id;
    const clip = await this.repo.findByVideo(v.id);
    return clip?.stream_id ?? null;
  }

  async clipVideo(user: AuthUser, videoId: string, body: { start_seconds: number; end_seconds: number; title: string }): Promise<ClipResult> {
    const title = clipTitle(body.title);
    const v = await this.videos.getVisible(videoId, user);
    await this.assertMayClip(user, v.owner_id, await this.streamOf(v));
    const { start_seconds: start, end_seconds: end } = body;
    if (!(end > start)) throw new ValidationError('end_seconds must be after start_seconds.', [{ field: 'end_seconds', message: 'must be greater than start_seconds' }]);
    checkLength(end - start, 'end_seconds');
    await this.countClip(user);
    if (v.status !== 'ready' || !v.manifest_key || !v.run_id) throw new ConflictError(`The video is ${v.status.replace('_', ' ')}; only a ready video can be clipped.`);
    const duration = v.duration_seconds ?? 0;
    if (end > duration + 0.5) {
      throw new ValidationError(`The range ends after the video (${round3(duration)} s long).`, [{ field: 'end_seconds', message: `must be at most ${round3(duration)}` }]);
    }
    const storage = this.videos.storage;
    const srcDir = v.manifest_key.slice(0, v.manifest_key.lastIndexOf('/') + 1);
    const master = (await storage.getBuffer(v.manifest_key)).toString('utf8');
    const media = mediaPlaylistsOf(master);
    const renditions = JSON.parse(v.renditions ?? '[]') as StoredRendition[];
    if (media.length === 0 || renditions.length === 0) throw new ConflictError('The video has no renditions to clip.');
    // The range is decided on the first video rendition; the others have segments at the same instants.
    const firstText = (await storage.getBuffer(renditions[0].playlist)).toString('utf8');
    const cut = coveringSegments(parseMediaPlaylist(firstText), start, end);
    if (!cut) throw new ValidationError('No part of the video lies in that range.', [{ field: 'start_seconds', message: 'is outside the video' }]);

    const id = uuidv7();
    const runId = uuidv7().replace(/-/g, '').slice(-16);
    const dstDir = derivedRunPrefix(id, runId);
    let bytes = 0;
    for (const rel of media) {
      const text = (await storage.getBuffer(`${srcDir}${rel}`)).toString('utf8');
      const folder = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '';
      bytes += await copyCoveringSegments(storage, {
        playlistText: text,
        srcDir: `${srcDir}${folder}`,
        dstDir: `${dstDir}${folder}`,
        playlistName: rel.slice(folder.length),
        start: cut.start,
        end: cut.end,
      });
    }
    await storage.put(`${dstDir}master.m3u8`, master, { contentType: 'application/vnd.apple.mpegurl' });
    const video = await publishDerivedVideo(
      this.videos,
      {
        id,
        ownerId: user.id,
        title,
        runId,
        // The copied segments keep the source's measured quality; its byte counts are the source's, not the clip's.
        renditions: renditions.map(({ bytes: _sourceBytes, ...r }) => ({ ...r, playlist: `${dstDir}${r.playlist.slice(srcDir.length)}` })),
        encodingMode: v.encoding_mode,
        visibility: v.visibility,
        manifestKey: `${dstDir}master.m3u8`,
        thumbnailKey: null,
        durationSeconds: round3(cut.end - cut.start),
        width: v.width,
        height: v.height,
        fps: v.fps,
        hasAudio: v.has_audio === 1,
        videoCodec: v.video_codec,
        audioCodec: v.audio_codec,
        sizeBytes: bytes,
        sourceStreamId: null,
      },
      (trx) =>
        this.repo.insert(trx, {
          video_id: id,
          created_by: user.id,
          source_video_id: v.id,
          stream_id: null,
          broadcast_id: null,
          wall_start: null,
          start_seconds: cut.start,
          end_seconds: cut.end,
          created_at: new Date().toISOString(),
        }),
    );
    this.logger.info({ videoId: id, from: v.id, start: cut.start, end: cut.end }, 'clip cut from a video');
    return { video, start_seconds: round3(cut.start), end_seconds: round3(cut.end) };
  }

  /**
   * The `duration` seconds starting `secondsBack` before the live edge. Reaches back over the DVR
   * window, or further over the segments a recorded broadcast keeps (its history playlist).
   */
  async clipStream(user: AuthUser, streamId: string, body: { seconds_back: number; duration_seconds: number; title: string }): Promise<ClipResult> {
    const title = clipTitle(body.title);
    const row = await this.live.requireStream(streamId);
    await this.assertMayClip(user, row.creator_id, row.clips_by_viewers ? row.id : null);
    checkLength(body.duration_seconds, 'duration_seconds');
    if (body.duration_seconds > body.seconds_back) {
      throw new ValidationError('The clip would reach past the live edge: duration_seconds must not exceed seconds_back.', [{ field: 'duration_seconds', message: 'must be at most seconds_back' }]);
    }
    if (row.status !== 'live' || !row.ladder || !row.broadcast_id) throw new ConflictError('The stream is not live; clip its recording instead.');
    await this.countClip(user);
    const storage = this.videos.storage;
    const ladder = JSON.parse(row.ladder) as LiveLadder;
    const base = liveHlsPrefixFor(row.id);
    const top = ladder.rungs[0];
    const sources = await this.sourceOf(`${base}${top.name}/`);
    const segments = sources.segments;
    const total = totalDuration(segments);
    const start = total - body.seconds_back;
    if (start < -0.5) {
      throw new ValidationError(`Only the last ${Math.floor(total)} s of the stream can be clipped right now.`, [{ field: 'seconds_back', message: `must be at most ${Math.floor(total)}` }]);
    }
    const cut = coveringSegments(segments, Math.max(0, start), Math.max(0, start) + body.duration_seconds);
    if (!cut) throw new ConflictError('No segment of the stream covers that range yet.');
    // The same segment names exist in every rung, taken from the same kind of playlist.
    const firstUri = segments[cut.first].uri;
    const lastUri = segments[cut.last].uri;

    const id = uuidv7();
    const runId = uuidv7().replace(/-/g, '').slice(-16);
    const dstDir = derivedRunPrefix(id, runId);
    let bytes = 0;
    const renditions: StoredRendition[] = [];
    for (const r of ladder.rungs) {
      const text = (await storage.getBuffer(`${base}${r.name}/${sources.playlist}`)).toString('utf8');
      const segs = parseLiveSegments(text);
      const a = segs.findIndex((s) => s.uri === firstUri);
      const b = segs.findIndex((s) => s.uri === lastUri);
      if (a < 0 || b < a) throw new ConflictError('The stream moved on while clipping; try again.');
      const offset = totalDuration(segs.slice(0, a));
      const span = totalDuration(segs.slice(a, b + 1));
      bytes += await copyCoveringSegments(storage, {
        playlistText: text,
        srcDir: `${base}${r.name}/`,
        dstDir: `${dstDir}${r.name}/`,
        playlistName: 'index.m3u8',
        start: offset + 1e-3,
        end: offset + span - 1e-3,
      });
      renditions.push({
        height: r.height,
        width: r.width,
        bandwidth: r.bandwidth,
        average_bandwidth: r.average_bandwidth,
        codecs: liveCodecs(ladder),
        frame_rate: null,
        playlist: `${dstDir}${r.name}/index.m3u8`,
      });
    }
    await storage.put(`${dstDir}master.m3u8`, liveMasterPlaylist(ladder), { contentType: 'application/vnd.apple.mpegurl' });
    const wallStart = segments[cut.first].at;
    const startedAt = Date.parse(row.started_at ?? new Date().toISOString());
    // Seconds of the broadcast, by the segments' capture times when the playlist has them.
    const startSeconds = wallStart !== null ? Math.max(0, (wallStart - startedAt) / 1000) : cut.start;
    const length = cut.end - cut.start;
    const video = await publishDerivedVideo(
      this.videos,
      {
        id,
        ownerId: user.id,
        title,
        runId,
        renditions,
        manifestKey: `${dstDir}master.m3u8`,
        thumbnailKey: null,
        durationSeconds: round3(length),
        width: top.width,
        height: top.height,
        fps: null,
        hasAudio: ladder.audio_kbps !== null,
        videoCodec: 'h264',
        audioCodec: ladder.audio_kbps !== null ? 'aac' : null,
        sizeBytes: bytes,
        sourceStreamId: null,
      },
      (trx) =>
        this.repo.insert(trx, {
          video_id: id,
          created_by: user.id,
          source_video_id: null,
          stream_id: row.id,
          broadcast_id: row.broadcast_id,
          wall_start: wallStart !== null ? new Date(wallStart).toISOString() : null,
          start_seconds: startSeconds,
          end_seconds: startSeconds + length,
          created_at: new Date().toISOString(),
        }),
    );
    this.logger.info({ videoId: id, streamId: row.id, seconds: length }, 'clip cut from a live stream');
    return { video, start_seconds: round3(startSeconds), end_seconds: round3(startSeconds + length) };
  }

  /** The longer of the rung's live window and its history (kept segments of a recorded broadcast). */
  private async sourceOf(rungDir: string): Promise<{ playlist: string; segments: LiveSegment[] }> {
    const storage = this.videos.storage;
    const read = async (name: string) => ((await storage.stat(`${rungDir}${name}`)) ? parseLiveSegments((await storage.getBuffer(`${rungDir}${name}`)).toString('utf8')) : []);
    const window = await read('index.m3u8');
    const history = await read('history.m3u8');
    if (window.length === 0 && history.length === 0) throw new NotFoundError('The stream has no segments yet.');
    return totalDuration(history) > totalDuration(window) ? { playlist: 'history.m3u8', segments: history } : { playlist: 'index.m3u8', segments: window };
  }
}

/** Relative URIs of every media playlist a master lists (variants and EXT-X-MEDIA renditions). */
export function mediaPlaylistsOf(master: string): string[] {
  const out = new Set<string>();
  for (const raw of master.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const uri = /URI="([^"]+)"/.exec(line);
    if (line.startsWith('#EXT-X-MEDIA') && uri) out.add(uri[1]);
    else if (!line.startsWith('#')) out.add(line);
  }
  for (const u of out) if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.m3u8$/.test(u)) throw new ConflictError('The video has an unexpected playlist layout.');
  return [...out];
}

/** A clip's title is cleaned as any video title is; nothing left after cleaning is a 400. */
function clipTitle(raw: string): string {
  const title = cleanLine(raw);
  if (!title) throw new ValidationError('The title must not be blank.', [{ field: 'title', message: 'must not be blank' }]);
  return title;
}
