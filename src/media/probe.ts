// probeMedia: ffprobe an input and turn the answer into MediaInfo, or into a MediaError whose reason
// a creator can act on. Only real container demuxers may open the file (format_whitelist), so an
// uploaded HLS/concat/DASH playlist is refused before it can make ffprobe open anything else.
import fs from 'node:fs';
import { runMediaTool, safeInputArgs } from './ffmpeg.process.js';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import { MediaError } from './media.errors.js';
import type { MediaInfo, ProbeOptions } from './media.types.js';

/**
 * Demuxers for self-contained media files. Anything that can reference other files or URLs (hls,
 * dash, concat, imf, sdp, rtsp, image sequences, tee…) is deliberately absent.
 */
export const ALLOWED_DEMUXERS: readonly string[] = [
  'mov',
  'matroska',
  'avi',
  'flv',
  'mpegts',
  'mpeg',
  'mpegvideo',
  'asf',
  'ogg',
  'mxf',
  'dv',
  'nut',
  'ivf',
  'h264',
  'hevc',
  'm4v',
  'wav',
  'w64',
  'aiff',
  'caf',
  'mp3',
  'aac',
  'flac',
  'ac3',
  'eac3',
  'amr',
];

const PLAYLIST_DEMUXERS: Record<string, string> = {
  hls: 'an HLS playlist (.m3u8)',
  applehttp: 'an HLS playlist (.m3u8)',
  concat: 'a concat/ffconcat list',
  dash: 'a DASH manifest (.mpd)',
  imf: 'an IMF composition playlist',
  sdp: 'an SDP session description',
  webm_dash_manifest: 'a DASH manifest',
};

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  tags?: Record<string, string>;
  disposition?: Record<string, number>;
  side_data_list?: Array<{ rotation?: number }>;
}
interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; size?: string };
}

function rate(r: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(r ?? '');
  if (!m || Number(m[2]) === 0) return 0;
  return Number(m[1]) / Number(m[2]);
}

/** Clockwise degrees in {0, 90, 180, 270}. ffprobe's display-matrix rotation is counter-clockwise. */
function rotationOf(s: FfprobeStream): number {
  const tag = s.tags?.rotate;
  let cw = 0;
  const side = s.side_data_list?.find((d) => typeof d.rotation === 'number');
  if (side?.rotation !== undefined) cw = -side.rotation;
  else if (tag !== undefined && /^-?\d+$/.test(tag)) cw = Number(tag);
  const norm = (((Math.round(cw / 90) * 90) % 360) + 360) % 360;
  return norm;
}

function bitDepth(s: FfprobeStream): number | null {
  const raw = Number(s.bits_per_raw_sample);
  if (Number.isInteger(raw) && raw > 0) return raw;
  const pf = s.pix_fmt ?? '';
  if (!pf) return null;
  const m = /p(9|10|12|14|16)(le|be)?$/.exec(pf) ?? /(9|10|12|14|16)(le|be)$/.exec(pf);
  return m ? Number(m[1]) : 8;
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128) printable++;
  return !head.includes(0) && printable / head.length > 0.95;
}

function readHead(path: string, bytes: number): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Walks the top-level ISO-BMFF boxes: a box that claims to end past the end of the file means the
 * upload was cut off. ffprobe alone accepts such a file when the index (moov) comes first.
 */
export function mp4LooksTruncated(path: string, size: number): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    const hdr = Buffer.alloc(16);
    let pos = 0;
    for (let boxes = 0; pos < size && boxes < 10_000; boxes++) {
      if (fs.readSync(fd, hdr, 0, 16, pos) < 8) return true;
      let len = hdr.readUInt32BE(0);
      if (len === 1) len = Number(hdr.readBigUInt64BE(8));
      else if (len === 0) return false; // "extends to end of file"
      if (len < 8) return true;
      pos += len;
    }
    return pos > size;
  } finally {
    fs.closeSync(fd);
  }
}

function failureReason(path: string, stderr: string): MediaError {
  const refused = /\[([\w,]+) @ [^\]]+\] Format not on whitelist/.exec(stderr)?.[1]?.split(',')[0];
  if (refused) {
    const playlist = PLAYLIST_DEMUXERS[refused];
    if (playlist) {
      return new MediaError('unsupported_format', `The file is ${playlist}, which refers to other files; upload the video file itself.`);
    }
    if (refused === 'tty') return new MediaError('not_media', 'The file is text, not a video or audio file.');
    if (/_pipe$|^image2/.test(refused)) return new MediaError('not_media', 'The file is a still image, not a video.');
    return new MediaError('unsupported_format', `The file's format (${refused}) is not accepted; upload a video such as MP4, MOV, MKV or WebM.`);
  }
  if (/moov atom not found/.test(stderr)) {
    return new MediaError('truncated', 'The MP4/MOV file is incomplete (its index is missing): the upload or recording was probably cut off.');
  }
  if (looksLikeText(readHead(path, 4096))) return new MediaError('not_media', 'The file is text, not a video or audio file.');
  return new MediaError('not_media', 'The file is not a video or audio file that Nova can read.');
}

export async function probeMedia(path: string, opts: ProbeOptions): Promise<MediaInfo> {
  let size: number;
  try {
    const st = fs.statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new MediaError('not_media', 'The uploaded file could not be read.');
  }
  if (size === 0) throw new MediaError('empty', 'The file is empty (0 bytes).');

  const tools = opts.tools ?? resolveMediaTools();
  const res = await runMediaTool({
    bin: tools.ffprobe,
    args: ['-hide_banner', '-v', 'error', ...safeInputArgs(ALLOWED_DEMUXERS), '-show_format', '-show_streams', '-of', 'json', '-i', `file:${path}`],
    timeoutSeconds: opts.timeoutSeconds,
    signal: opts.signal,
  });
  // A crash says nothing about the file: report it as retryable rather than as "not media".
  if (res.signal) throw new MediaError('ffmpeg_failed', 'ffprobe stopped unexpectedly while reading the file.', res.stderr);
  if (res.code !== 0) throw failureReason(path, res.stderr);

  let out: FfprobeOutput;
  try {
    out = JSON.parse(res.stdout) as FfprobeOutput;
  } catch {
    throw new MediaError('not_media', 'The file is not a video or audio file that Nova can read.');
  }
  const formatName = out.format?.format_name ?? '';
  if (!formatName) throw new MediaError('not_media', 'The file is not a video or audio file that Nova can read.');
  if (formatName.startsWith('mov,') && mp4LooksTruncated(path, size)) {
    throw new MediaError('truncated', 'The file ends early: it is incomplete, probably a cut-off upload.');
  }

  const streams = out.streams ?? [];
  // Cover art in audio files is a one-frame "video" stream: it does not make the file a video.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && (s.width ?? 0) > 0);
  const audio = streams.find((s) => s.codec_type === 'audio' && s.codec_name);
  if (!video && !audio) throw new MediaError('no_streams', 'The file has no video or audio stream.');

  const duration = Number(out.format?.duration ?? video?.duration ?? audio?.duration);
  if (!Number.isFinite(duration) || duration <= 0) {
    throw new MediaError('not_media', 'The file has no readable duration: it may be damaged or incomplete.');
  }
  if (duration > opts.maxDurationSeconds) {
    throw new MediaError('too_long', `The video lasts ${Math.round(duration)} s; the limit is ${opts.maxDurationSeconds} s.`);
  }

  let width = 0;
  let height = 0;
  let rotation = 0;
  let fps = 0;
  if (video) {
    rotation = rotationOf(video);
    const w = video.width ?? 0;
    const h = video.height ?? 0;
    if (w * h > opts.maxPixels) {
      throw new MediaError('too_large', `The picture is ${w}×${h} (${w * h} pixels); the limit is ${opts.maxPixels} pixels.`);
    }
    [width, height] = rotation === 90 || rotation === 270 ? [h, w] : [w, h];
    fps = rate(video.avg_frame_rate) || rate(video.r_frame_rate);
    // Some containers report timebase-like rates (1000/1 for VFR FLV): treat as unknown beyond 240.
    if (fps > 240) fps = rate(video.r_frame_rate) <= 240 ? rate(video.r_frame_rate) : 0;
    fps = Math.round(fps * 1000) / 1000;
  }

  return {
    duration_seconds: Math.round(duration * 1000) / 1000,
    width,
    height,
    rotation,
    fps,
    video_codec: video?.codec_name ?? null,
    pix_fmt: video?.pix_fmt ?? null,
    bit_depth: video ? bitDepth(video) : null,
    audio_codec: audio?.codec_name ?? null,
    has_video: Boolean(video),
    has_audio: Boolean(audio),
    format_name: formatName,
    size_bytes: size,
  };
}
