// Cutting by copying segments: which segments of a media playlist cover a range (segment-accurate,
// no re-encode), and the copy of those segments with their playlists under a new video's run.
import type { ObjectStorage } from '../infra/storage/storage.js';
import { finalizeMediaPlaylist, parseMediaPlaylist, type MediaSegment } from '../media/hls.playlist.js';

export interface Cut {
  /** Index of the first and last segment taken. */
  first: number;
  last: number;
  /** The range actually covered, in seconds of the playlist's timeline. */
  start: number;
  end: number;
}

/** The segments overlapping [start, end); null when none does. */
export function coveringSegments(segments: readonly { duration: number }[], start: number, end: number): Cut | null {
  let t = 0;
  let cut: Cut | null = null;
  segments.forEach((s, i) => {
    const a = t;
    const b = t + s.duration;
    t = b;
    // A segment touching the range by less than a millisecond does not count.
    if (b - 1e-3 <= start || a + 1e-3 >= end) return;
    if (!cut) cut = { first: i, last: i, start: a, end: b };
    else {
      cut.last = i;
      cut.end = b;
    }
  });
  return cut;
}

export function totalDuration(segments: readonly { duration: number }[]): number {
  return segments.reduce((a, s) => a + s.duration, 0);
}

/** A finished VOD media playlist of `segments` (URIs as given). */
export function clipMediaPlaylist(segments: readonly MediaSegment[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-MEDIA-SEQUENCE:0'];
  for (const s of segments) lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri);
  return finalizeMediaPlaylist(lines.join('\n'));
}

/**
 * Copies the segments of `playlistText` covering [start, end) from `srcDir` to `dstDir` (both storage
 * folders ending in "/", the playlist's URIs relative to them) and writes the clip's playlist
 * there as `playlistName`. Returns the bytes copied.
 */
export async function copyCoveringSegments(storage: ObjectStorage, o: { playlistText: string; srcDir: string; dstDir: string; playlistName: string; start: number; end: number }): Promise<number> {
  const segments = parseMediaPlaylist(o.playlistText);
  const cut = coveringSegments(segments, o.start, o.end);
  if (!cut) throw new Error('no segment covers the range');
  const taken = segments.slice(cut.first, cut.last + 1);
  let bytes = 0;
  for (const s of taken) {
    if (!/^[A-Za-z0-9_-]+\.ts$/.test(s.uri)) throw new Error(`unexpected segment name ${s.uri}`);
    const body = await storage.getBuffer(`${o.srcDir}${s.uri}`);
    await storage.put(`${o.dstDir}${s.uri}`, body, { contentType: 'video/mp2t' });
    bytes += body.length;
  }
  await storage.put(`${o.dstDir}${o.playlistName}`, clipMediaPlaylist(taken), { contentType: 'application/vnd.apple.mpegurl' });
  return bytes;
}
