// Builds the one ffmpeg command that turns an input into the whole HLS ladder: decode once, split
// and scale to every rung, encode each as 8-bit H.264 High, encode audio once into a shared group.
// Pure (no I/O), so the exact command line is unit-tested without running ffmpeg.
import path from 'node:path';
import { ALLOWED_DEMUXERS } from './probe.js';
import { safeInputArgs } from './ffmpeg.process.js';
import { GOP_SECONDS } from './ladder.js';
import type { LadderPlan, MediaInfo, VideoRung } from './media.types.js';

export const AUDIO_GROUP = 'aud';
/**
 * Decoding may run this far past the probed duration (which the limit was checked against): a frame
 * or an audio priming tail more is normal, a whole second more means the file misreports its length.
 */
export const DURATION_TOLERANCE_SECONDS = 1;

/** One HLS media playlist ffmpeg will write, relative to outDir. */
export interface HlsVariantLayout {
  kind: 'video' | 'audio';
  /** Folder under outDir: "v" + the variant's index in -var_stream_map (video rungs first, audio last). */
  name: string;
  playlist: string;
  rung?: VideoRung;
}

export interface HlsCommand {
  args: string[];
  variants: HlsVariantLayout[];
}

export interface HlsArgsInput {
  inputPath: string;
  outDir: string;
  info: MediaInfo;
  ladder: LadderPlan;
  preset: string;
}

/** The demuxer to pin with -f: the first name ffprobe reported ("mov,mp4,…" → "mov"). */
export function pinnedDemuxer(formatName: string): string {
  return formatName.split(',')[0] ?? formatName;
}

export function buildHlsArgs({ inputPath, outDir, info, ladder, preset }: HlsArgsInput): HlsCommand {
  const video = info.has_video ? ladder.video : [];
  const audio = info.has_audio ? ladder.audio : null;
  if (video.length === 0 && !audio) throw new Error('nothing to encode: the ladder has neither video nor audio');
  // ffmpeg expands % sequences in output names (%v, %05d); a % in the folder would be expanded too.
  if (outDir.includes('%')) throw new Error(`output folder must not contain "%": ${outDir}`);

  // Folders are named by variant index (%v) rather than with var_stream_map's name: key, which
  // ffmpeg 4.1 (the static build in the optional npm package) does not know.
  const variants: HlsVariantLayout[] = video.map((rung, i) => ({ kind: 'video', name: `v${i}`, playlist: `v${i}/index.m3u8`, rung }));
  if (audio) variants.push({ kind: 'audio', name: `v${video.length}`, playlist: `v${video.length}/index.m3u8` });

  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];
  // The demuxer is pinned to what probing saw, so a crafted file cannot switch demuxers here.
  args.push(...safeInputArgs(ALLOWED_DEMUXERS), '-f', pinnedDemuxer(info.format_name), '-i', `file:${inputPath}`);
  // A file can hold far more media than it declares (concatenated MPEG-TS probes as its first copy):
  // the output stops just past the tolerance, so going over it shows and little more is decoded.
  args.push('-t', (info.duration_seconds + 2 * DURATION_TOLERANCE_SECONDS).toFixed(3));

  if (video.length > 0) {
    // fps first so every branch shares one constant frame rate (and so one GOP grid); split fans the
    // single decoded stream out to each scaler. Rotation metadata is applied by ffmpeg's autorotate.
    const labels = video.map((_, i) => `[s${i}]`).join('');
    const graph = [`[0:v:0]fps=${ladder.fps},split=${video.length}${labels}`];
    video.forEach((r, i) => graph.push(`[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p[v${i}]`));
    args.push('-filter_complex', graph.join(';'));
    video.forEach((_, i) => args.push('-map', `[v${i}]`));
  }
  if (audio) args.push('-map', '0:a:0');

  if (video.length > 0) {
    args.push('-c:v', 'libx264', '-preset', preset, '-profile:v', 'high', '-pix_fmt', 'yuv420p');
    video.forEach((r, i) => {
      // Per rung: an average target (ABR) or constant quality under the same kind of VBV cap.
      const target = r.rate_control === 'crf' && r.crf !== null ? [`-crf:v:${i}`, String(r.crf)] : [`-b:v:${i}`, `${r.video_kbps}k`];
      args.push(...target, `-maxrate:v:${i}`, `${r.maxrate_kbps}k`, `-bufsize:v:${i}`, `${r.bufsize_kbps}k`);
    });
    // Fixed GOP on a shared clock: every rendition gets keyframes at the same instants, so segments
    // line up and players can switch at any boundary.
    const g = String(ladder.gop_frames);
    args.push('-g', g, '-keyint_min', g, '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${GOP_SECONDS})`);
  }
  if (audio) args.push('-c:a', 'aac', '-b:a', `${audio.audio_kbps}k`, '-ac', String(audio.channels), '-ar', String(audio.sample_rate));

  const streamMap = [...video.map((_, i) => `v:${i},agroup:${AUDIO_GROUP}`), ...(audio ? [video.length > 0 ? `a:0,agroup:${AUDIO_GROUP}` : 'a:0'] : [])];

  args.push(
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-sn',
    '-dn',
    '-max_muxing_queue_size',
    '4096',
    '-f',
    'hls',
    '-hls_time',
    String(ladder.segment_seconds),
    // EVENT while running so a player can start on the first segments; finalised to VOD afterwards.
    '-hls_playlist_type',
    'event',
    '-hls_segment_type',
    'mpegts',
    '-hls_flags',
    'independent_segments+temp_file',
    '-hls_segment_filename',
    path.join(outDir, 'v%v', 'seg_%05d.ts'),
    '-var_stream_map',
    streamMap.join(' '),
    '-progress',
    'pipe:1',
    '-nostats',
    path.join(outDir, 'v%v', 'index.m3u8'),
  );
  return { args, variants };
}
