// Reads the H.264 sequence parameter set from an MPEG-TS segment to build the exact RFC 6381 avc1
// string (profile_idc, constraint flags, level_idc) for the master playlist's CODECS. Done here, in
// a few lines, instead of with ffprobe: it runs while the first segments land, where every spawn
// delays "playable", and some static ffprobe builds crash on MPEG-TS.
import fs from 'node:fs';

const TS_PACKET = 188;

/** Concatenated payloads per PID of (the start of) a transport stream. */
function payloadsByPid(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  for (let off = 0; off + TS_PACKET <= buf.length; off += TS_PACKET) {
    if (buf[off] !== 0x47) continue;
    const pid = ((buf[off + 1] & 0x1f) << 8) | buf[off + 2];
    const afc = (buf[off + 3] >> 4) & 0x3;
    let start = off + 4;
    if (afc === 2 || afc === 0) continue; // adaptation field only, or reserved
    if (afc === 3) start += 1 + buf[off + 4];
    if (start >= off + TS_PACKET) continue;
    const list = out.get(pid) ?? [];
    list.push(buf.subarray(start, off + TS_PACKET));
    out.set(pid, list);
  }
  return out;
}

/** The three bytes after an SPS NAL header (profile_idc, constraint flags, level_idc), or null. */
export function findSps(stream: Buffer): [number, number, number] | null {
  for (let i = 0; i + 6 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1 && (stream[i + 3] & 0x9f) === 0x07) {
      return [stream[i + 4], stream[i + 5], stream[i + 6]];
    }
  }
  return null;
}

export function avc1FromSps([profile, constraints, level]: [number, number, number]): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `avc1.${hex(profile)}${hex(constraints)}${hex(level)}`;
}

/** avc1 string of the first H.264 stream in an MPEG-TS file, or null when none is found. */
export function avc1FromTsSegment(file: string, maxBytes = 256 * 1024): string | null {
  const fd = fs.openSync(file, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(maxBytes);
    buf = buf.subarray(0, fs.readSync(fd, buf, 0, maxBytes, 0));
  } finally {
    fs.closeSync(fd);
  }
  for (const parts of payloadsByPid(buf).values()) {
    const stream = Buffer.concat(parts);
    // Only video PES (stream_id 0xE0–0xEF): audio payloads can contain the same byte pattern.
    if (!(stream[0] === 0 && stream[1] === 0 && stream[2] === 1 && (stream[3] & 0xf0) === 0xe0)) continue;
    const sps = findSps(stream);
    if (sps) return avc1FromSps(sps);
  }
  return null;
}
