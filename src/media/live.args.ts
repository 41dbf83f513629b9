// Pure building blocks of the live HLS ladder: which rungs a live input gets, the one ffmpeg
// command that decodes once and encodes every rung (plus a copy of the input for the recording),
// and the master playlist Nova serves. No process is started here; see src/live/live.transcoder.ts.
import { planLadder } from './ladder.js';
import type { MediaInfo } from './media.types.js';

/** One video rung of the live ladder, named by its short side ("720p"). */
export interface LiveRung {
  name: string;
  width: number;
  height: number;
  video_kbps: number;
  maxrate_kbps: number;
  bufsize_kbps: number;
  /** Peak and average bits per second with audio and container overhead, for the master playlist. */
  bandwidth: number;
  average_bandwidth: number;
}

export interface LiveLadder {
  rungs: LiveRung[];
  /** AAC bitrate per rung, or null when the input carries no audio. */
  audio_kbps: number | null;
  segment_seconds: number;
}

/** One H.264 profile/level for every rung (Main 4.1 covers 1080p60), so CODECS is known up front. */
const H264_PROFILE = 'main';
const H264_LEVEL = '4.1';
const AVC_CODEC = 'avc1.4d4029';

/**
 * The rungs for a live input of width×height: the VOD ladder's choice (contract tiers up to the
 * input's short side, never upscaled; one rung at the input's size below 360p), with live segments.
 */
export function selectLiveLadder(width: number, height: number, hasAudio: boolean, segmentSeconds: number, fps = 30): LiveLadder {
  if (!(width > 0 && height > 0)) throw new Error(`invalid input size ${width}x${height}`);
  const info: MediaInfo = {
    duration_seconds: 0,
    width,
    height,
    rotation: 0,
    fps,
    video_codec: 'h264',
    pix_fmt: null,
    bit_depth: null,
    audio_codec: hasAudio ? 'aac' : null,
    has_video: true,
    has_audio: hasAudio,
    format_name: 'flv',
    size_bytes: 0,
  };
  const plan = planLadder(info);
  const rungs = plan.video.map((r) => ({
    name: r.name,
    width: r.width,
    height: r.height,
    video_kbps: r.video_kbps,
    maxrate_kbps: r.maxrate_kbps,
    bufsize_kbps: r.bufsize_kbps,
    bandwidth: r.bandwidth,
    average_bandwidth: r.average_bandwidth,
  }));
  return { rungs, audio_kbps: plan.audio?.audio_kbps ?? null, segment_seconds: segmentSeconds };
}

export interface LiveFfmpegOptions {
  ladder: LiveLadder;
  /** Directory receiving <rung>/index.m3u8 and <rung>/<prefix>_NNNNN.ts. */
  outDir: string;
  /** Unique per publish session, so segment names never repeat across reconnects. */
  segmentPrefix: string;
  /** Segments kept in each media playlist (the sliding window). */
  listSize: number;
  /** First media sequence number: continues the previous session's numbering after a reconnect. */
  startNumber: number;
  /** True after a reconnect: the playlist starts with a discontinuity. */
  discontinuity: boolean;
  preset: string;
  /** Where to write a stream copy of the input (MPEG-TS) for the recording, or null. */
  recordingPath: string | null;
}

/**
 * ffmpeg arguments reading FLV on stdin: one decode, a split per rung, x264 with keyframes forced
 * on segment boundaries (aligned across rungs), AAC per rung, HLS with a sliding window.
 */
export function buildLiveFfmpegArgs(o: LiveFfmpegOptions): string[] {
  const { rungs, audio_kbps: audioKbps, segment_seconds: seg } = o.ladder;
  const n = rungs.length;
  const split = n > 1 ? `[0:v:0]split=${n}${rungs.map((_, i) => `[s${i}]`).join('')};` : '';
  const scales = rungs.map((r, i) => `${n > 1 ? `[s${i}]` : '[0:v:0]'}scale=${r.width}:${r.height}:flags=bicubic,format=yuv420p[v${i}]`).join(';');
  // -progress on stdout: the frames ffmpeg dropped or duplicated feed the creator's ingest health.
  const args = ['-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-nostats', '-fflags', '+genpts', '-f', 'flv', '-i', 'pipe:0', '-filter_complex', `${split}${scales}`];
  rungs.forEach((r, i) => {
    args.push('-map', `[v${i}]`);
    if (audioKbps !== null) args.push('-map', '0:a:0');
    args.push(`-b:v:${i}`, `${r.video_kbps}k`, `-maxrate:v:${i}`, `${r.maxrate_kbps}k`, `-bufsize:v:${i}`, `${r.bufsize_kbps}k`);
  });
  args.push(
    '-c:v',
    'libx264',
    '-preset',
    o.preset,
    '-tune',
    'zerolatency',
    '-profile:v',
    H264_PROFILE,
    '-level:v',
    H264_LEVEL,
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,n_forced*${seg})`,
  );
  if (audioKbps !== null) args.push('-c:a', 'aac', '-b:a', `${audioKbps}k`, '-ac', '2', '-ar', '48000');
  // program_date_time: each segment says when it was captured, which places clips and chat on the
  // broadcast's clock.
  const flags = ['delete_segments', 'independent_segments', 'temp_file', 'program_date_time', ...(o.discontinuity ? ['discont_start'] : [])];
  const streamMap = rungs.map((r, i) => (audioKbps !== null ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(' ');
  args.push(
    '-f',
    'hls',
    '-hls_time',
    String(seg),
    '-hls_list_size',
    String(o.listSize),
    // Segments that left the playlist stay on disk this much longer for players still fetching them.
    '-hls_delete_threshold',
    String(Math.max(2, Math.ceil(o.listSize / 2))),
    '-hls_flags',
    flags.join('+'),
    '-start_number',
    String(o.startNumber),
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    `${o.outDir}/%v/${o.segmentPrefix}_%05d.ts`,
    '-var_stream_map',
    streamMap,
    `${o.outDir}/%v/index.m3u8`,
  );
  if (o.recordingPath) {
    args.push('-map', '0:v:0');
    if (audioKbps !== null) args.push('-map', '0:a:0');
    args.push('-c', 'copy', '-f', 'mpegts', o.recordingPath);
  }
  return args;
}

/** The CODECS attribute of every live variant. */
export function liveCodecs(ladder: LiveLadder): string {
  return ladder.audio_kbps !== null ? `${AVC_CODEC},mp4a.40.2` : AVC_CODEC;
}

/** The live master playlist; `query` (e.g. "viewer=abc") is appended to every variant URI. */
export function liveMasterPlaylist(ladder: LiveLadder, query?: string): string {
  const codecs = liveCodecs(ladder);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const r of ladder.rungs) {
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},AVERAGE-BANDWIDTH=${r.average_bandwidth},RESOLUTION=${r.width}x${r.height},CODECS="${codecs}"`);
    lines.push(`${r.name}/index.m3u8${query ? `?${query}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface MediaPlaylistInfo {
  mediaSequence: number;
  /** Segment URIs in playlist order. */
  segments: string[];
  ended: boolean;
}

/** Reads what the uploader needs from an HLS media playlist. */
export function parseMediaPlaylist(text: string): MediaPlaylistInfo {
  let mediaSequence = 0;
  const segments: string[] = [];
  let ended = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.slice(22)) || 0;
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else if (!line.startsWith('#')) segments.push(line);
  }
  return { mediaSequence, segments, ended };
}

/**
 * Segments a live media playlist keeps: the configured sliding window, or enough to cover the
 * stream's DVR window when it has one.
 */
export function liveListSize(playlistSegments: number, segmentSeconds: number, dvrWindowSeconds: number): number {
  if (dvrWindowSeconds <= 0) return playlistSegments;
  return Math.max(playlistSegments, Math.ceil(dvrWindowSeconds / segmentSeconds));
}

export interface LiveSegment {
  uri: string;
  duration: number;
  /** Wall-clock capture time of the segment's first frame (ms since epoch), when the playlist says. */
  at: number | null;
}

/** Segments of a live media playlist with their durations and EXT-X-PROGRAM-DATE-TIME. */
export function parseLiveSegments(text: string): LiveSegment[] {
  const out: LiveSegment[] = [];
  let duration: number | null = null;
  let at: number | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const t = Date.parse(line.slice(25));
      at = Number.isFinite(t) ? t : null;
    } else if (!line.startsWith('#')) {
      out.push({ uri: line, duration: duration ?? 0, at });
      duration = null;
      at = null;
    }
  }
  return out;
}

/** A media playlist of every segment kept for a broadcast (EVENT: it only grows), for clips. */
export function liveHistoryPlaylist(segments: readonly LiveSegment[], segmentSeconds: number): string {
  const target = Math.max(segmentSeconds, ...segments.map((s) => Math.ceil(s.duration - 1e-6)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-MEDIA-SEQUENCE:0'];
  for (const s of segments) {
    if (s.at !== null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.at).toISOString()}`);
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri);
  }
  return `${lines.join('\n')}\n`;
}
