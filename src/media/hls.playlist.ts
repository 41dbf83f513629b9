// HLS playlist text: the master playlist Nova writes itself (ffmpeg's lacks AVERAGE-BANDWIDTH,
// FRAME-RATE and real CODECS), the fixes that turn ffmpeg's EVENT media playlists into finished VOD
// ones, and bitrate measurement from the produced segments. Pure string/number work, unit-tested.

export interface MediaSegment {
  uri: string;
  duration: number;
}

export interface MasterVariant {
  uri: string;
  bandwidth: number;
  average_bandwidth: number;
  codecs: string;
  /** "1920x1080"; absent for an audio-only variant. */
  resolution?: string;
  frame_rate?: number;
  audio_group?: string;
}

export interface MasterAudio {
  group: string;
  name: string;
  uri: string;
  channels: number;
}

/** AAC-LC, the only audio Nova encodes. */
export const AAC_LC = 'mp4a.40.2';

export function parseMediaPlaylist(text: string): MediaSegment[] {
  const segments: MediaSegment[] = [];
  let pending: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) pending = Number(inf[1]);
    else if (line && !line.startsWith('#') && pending !== undefined) {
      segments.push({ uri: line, duration: pending });
      pending = undefined;
    }
  }
  return segments;
}

/**
 * Makes a finished media playlist: PLAYLIST-TYPE VOD, EXT-X-ENDLIST, EXT-X-INDEPENDENT-SEGMENTS (every
 * segment starts on a keyframe) and a TARGETDURATION no shorter than the longest segment, rounded up
 * as RFC 8216 requires. Idempotent.
 */
export function finalizeMediaPlaylist(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const longest = Math.max(0, ...parseMediaPlaylist(text).map((s) => s.duration));
  const header: string[] = ['#EXTM3U'];
  const body: string[] = [];
  let version = 3;
  let target = 0;
  for (const line of lines) {
    if (line === '' || line === '#EXTM3U' || line === '#EXT-X-ENDLIST' || line === '#EXT-X-INDEPENDENT-SEGMENTS') continue;
    if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) continue;
    const v = /^#EXT-X-VERSION:(\d+)/.exec(line);
    if (v) {
      version = Math.max(version, Number(v[1]));
      continue;
    }
    const t = /^#EXT-X-TARGETDURATION:(\d+)/.exec(line);
    if (t) {
      target = Number(t[1]);
      continue;
    }
    body.push(line);
  }
  target = Math.max(target, Math.ceil(longest - 1e-6), 1);
  header.push(`#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS');
  return [...header, ...body, '#EXT-X-ENDLIST', ''].join('\n');
}

/** True once a (growing) media playlist lists at least one complete segment. */
export function hasSegment(text: string): boolean {
  return parseMediaPlaylist(text).length > 0;
}

/**
 * Peak and average bits per second over segments. The peak ignores a final segment shorter than one
 * GOP when there are others: its one keyframe spread over a fraction of a second would overstate
 * what a player ever has to sustain.
 */
export function measureBitrate(segments: ReadonlyArray<{ duration: number; bytes: number }>, gopSeconds: number): { peak: number; average: number } {
  const valid = segments.filter((s) => s.duration > 0);
  if (valid.length === 0) return { peak: 0, average: 0 };
  const totalBits = valid.reduce((a, s) => a + s.bytes * 8, 0);
  const totalSeconds = valid.reduce((a, s) => a + s.duration, 0);
  const forPeak = valid.length > 1 && valid[valid.length - 1].duration < gopSeconds ? valid.slice(0, -1) : valid;
  const peak = Math.max(...forPeak.map((s) => (s.bytes * 8) / s.duration));
  return { peak: Math.round(peak), average: Math.round(totalBits / totalSeconds) };
}

function attr(v: string): string {
  return `"${v.replace(/"/g, '')}"`;
}

export function buildMasterPlaylist(variants: readonly MasterVariant[], audio?: MasterAudio): string {
  const out = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio) {
    out.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=${attr(audio.group)},NAME=${attr(audio.name)},DEFAULT=YES,AUTOSELECT=YES,CHANNELS=${attr(String(audio.channels))},URI=${attr(audio.uri)}`);
  }
  // Highest first: players that ignore BANDWIDTH start with the first listed variant.
  const sorted = [...variants].sort((a, b) => b.bandwidth - a.bandwidth);
  for (const v of sorted) {
    const parts = [`BANDWIDTH=${Math.round(v.bandwidth)}`, `AVERAGE-BANDWIDTH=${Math.round(v.average_bandwidth)}`];
    if (v.resolution) parts.push(`RESOLUTION=${v.resolution}`);
    parts.push(`CODECS=${attr(v.codecs)}`);
    if (v.frame_rate) parts.push(`FRAME-RATE=${v.frame_rate.toFixed(3)}`);
    if (v.audio_group) parts.push(`AUDIO=${attr(v.audio_group)}`);
    out.push(`#EXT-X-STREAM-INF:${parts.join(',')}`, v.uri);
  }
  return `${out.join('\n')}\n`;
}
