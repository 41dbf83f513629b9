// Chat replay: maps a recording (or a clip of one, or a clip of a live stream) onto the wall-clock
// times its media was captured, and turns the stream's chat of those times into offsets of the video.
import { ConflictError } from '../http/errors.js';
import type { ChatRepository } from '../chat/chat.repository.js';
import type { LiveRepository } from '../live/live.repository.js';
import type { VideoRow } from '../videos/videos.repository.js';
import type { ClipsRepository } from './clips.repository.js';

/** A stretch of the video: from `offset` seconds on, it shows what was captured from wallStart to wallEnd (ms). */
export interface TimelinePiece {
  offset: number;
  wallStart: number;
  wallEnd: number;
}

export interface Timeline {
  streamId: string;
  pieces: TimelinePiece[];
}

export interface ReplayMessage {
  comment_id: string;
  user_id: string;
  username: string;
  message: string;
  offset_seconds: number;
}

/** The part of `t` between `from` and `to` seconds, moved to start at 0. */
export function sliceTimeline(pieces: readonly TimelinePiece[], from: number, to: number): TimelinePiece[] {
  const out: TimelinePiece[] = [];
  for (const p of pieces) {
    const length = (p.wallEnd - p.wallStart) / 1000;
    const a = Math.max(from, p.offset);
    const b = Math.min(to, p.offset + length);
    if (b <= a) continue;
    out.push({ offset: a - from, wallStart: p.wallStart + (a - p.offset) * 1000, wallEnd: p.wallStart + (b - p.offset) * 1000 });
  }
  return out;
}

/** Recording parts laid end to end: each session's media from its first keyframe, for its length. */
export function recordingTimeline(sessions: ReadonlyArray<{ media_started_at: string | null; media_seconds: number | null; ended_at: string | null; recording_key: string | null }>): TimelinePiece[] {
  const pieces: TimelinePiece[] = [];
  let offset = 0;
  for (const s of sessions) {
    if (!s.recording_key || !s.media_started_at || !s.ended_at) continue;
    const wallStart = Date.parse(s.media_started_at);
    const wallEnd = s.media_seconds !== null ? wallStart + s.media_seconds * 1000 : Math.max(wallStart, Date.parse(s.ended_at));
    pieces.push({ offset, wallStart, wallEnd });
    offset += (wallEnd - wallStart) / 1000;
  }
  return pieces;
}

const MAX_DEPTH = 8;

export class ChatReplay {
  constructor(
    private readonly clips: ClipsRepository,
    private readonly live: LiveRepository,
    private readonly chat: ChatRepository,
    private readonly videoById: (id: string) => Promise<VideoRow | undefined>,
  ) {}

  async timeline(video: VideoRow, depth = 0): Promise<Timeline | null> {
    if (depth > MAX_DEPTH) return null;
    const clip = await this.clips.findByVideo(video.id);
    if (clip?.stream_id && clip.wall_start) {
      const wallStart = Date.parse(clip.wall_start);
      return { streamId: clip.stream_id, pieces: [{ offset: 0, wallStart, wallEnd: wallStart + (clip.end_seconds - clip.start_seconds) * 1000 }] };
    }
    if (clip?.source_video_id) {
      const source = await this.videoById(clip.source_video_id);
      const parent = source ? await this.timeline(source, depth + 1) : null;
      return parent ? { streamId: parent.streamId, pieces: sliceTimeline(parent.pieces, clip.start_seconds, clip.end_seconds) } : null;
    }
    const broadcast = await this.live.broadcastOfRecording(video.id);
    if (!broadcast) return null;
    return { streamId: broadcast.stream_id, pieces: recordingTimeline(await this.live.sessionsOfBroadcast(broadcast.id)) };
  }

  /** Chat of the video between `from` and `to` seconds of it, oldest first. */
  async messages(video: VideoRow, from: number, to: number, limit: number): Promise<ReplayMessage[]> {
    const t = await this.timeline(video);
    if (!t) throw new ConflictError('This video is not the recording of a live broadcast (or a clip of one): it has no chat.');
    const out: ReplayMessage[] = [];
    for (const p of sliceTimeline(t.pieces, from, to)) {
      if (out.length >= limit) break;
      const rows = await this.chat.replay(t.streamId, new Date(p.wallStart).toISOString(), new Date(p.wallEnd).toISOString(), limit - out.length);
      for (const m of rows) {
        const offset = from + p.offset + (Date.parse(m.created_at) - p.wallStart) / 1000;
        out.push({ comment_id: m.comment_id, user_id: m.user_id, username: m.username, message: m.message, offset_seconds: Math.round(offset * 1000) / 1000 });
      }
    }
    return out;
  }
}
