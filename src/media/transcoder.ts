// transcodeToHls: runs the one-decode ladder command, reports ffmpeg's real progress, announces the
// moment the EVENT playlists become playable, then finalises them to VOD and writes the master
// playlist with measured bitrates and the encoder's real profile/level.
import fs from 'node:fs';
import path from 'node:path';
import { resolveMediaTools } from './ffmpeg.binaries.js';
import { runMediaTool } from './ffmpeg.process.js';
import { AUDIO_GROUP, buildHlsArgs, DURATION_TOLERANCE_SECONDS, type HlsVariantLayout } from './hls.args.js';
import { avc1FromTsSegment } from './hls.codecs.js';
import { AAC_LC, buildMasterPlaylist, finalizeMediaPlaylist, hasSegment, measureBitrate, parseMediaPlaylist, type MasterVariant } from './hls.playlist.js';
import { GOP_SECONDS, planLadder } from './ladder.js';
import { MediaError } from './media.errors.js';
import type { LadderPlan, RenditionResult, TranscodeOptions, TranscodeResult } from './media.types.js';

export const MASTER_PLAYLIST = 'master.m3u8';

interface VideoFacts {
  width: number;
  height: number;
  codec: string;
}

/**
 * Size and avc1 profile/level of a rendition. The size is the scale filter's exact output; the codec
 * string comes from the SPS in the first segment, so CODECS states what the encoder really chose.
 */
function videoFacts(v: HlsVariantLayout, segmentPath: string): VideoFacts {
  const codec = avc1FromTsSegment(segmentPath);
  if (!codec || !v.rung) throw new MediaError('ffmpeg_failed', 'The transcoder produced a segment without H.264 video.');
  return { width: v.rung.width, height: v.rung.height, codec };
}

function readPlaylist(outDir: string, v: HlsVariantLayout): string {
  try {
    return fs.readFileSync(path.join(outDir, v.playlist), 'utf8');
  } catch {
    return '';
  }
}

function listFiles(dir: string, base = ''): string[] {
  return fs
    .readdirSync(path.join(dir, base), { withFileTypes: true })
    .flatMap((e) => {
      const rel = base ? `${base}/${e.name}` : e.name;
      if (e.isDirectory()) return listFiles(dir, rel);
      return e.name.endsWith('.tmp') ? [] : [rel];
    })
    .sort();
}

function segmentStats(outDir: string, v: HlsVariantLayout, text: string) {
  const dir = path.dirname(path.join(outDir, v.playlist));
  return parseMediaPlaylist(text).map((s) => ({ duration: s.duration, bytes: fs.statSync(path.join(dir, s.uri)).size }));
}

function failureFrom(stderr: string): MediaError {
  if (/Invalid data found when processing input|could not find codec parameters|moov atom not found/i.test(stderr)) {
    return new MediaError('not_media', 'The file could not be decoded: it is damaged or not a supported video.', stderr);
  }
  return new MediaError('ffmpeg_failed', 'Transcoding failed: ffmpeg stopped with an error.', stderr);
}

export async function transcodeToHls(opts: TranscodeOptions): Promise<TranscodeResult> {
  const tools = opts.tools ?? resolveMediaTools();
  const ladder: LadderPlan = opts.ladder ?? planLadder(opts.info);
  const { args, variants } = buildHlsArgs({ inputPath: opts.inputPath, outDir: opts.outDir, info: opts.info, ladder, preset: opts.preset });
  for (const v of variants) fs.mkdirSync(path.join(opts.outDir, v.name), { recursive: true });
  const videoVariants = variants.filter((v) => v.kind === 'video');
  const audioVariant = variants.find((v) => v.kind === 'audio');
  const masterPath = path.join(opts.outDir, MASTER_PLAYLIST);

  const facts = new Map<string, VideoFacts>();
  const masterFor = (bw: (v: HlsVariantLayout) => { peak: number; average: number }): string => {
    const audioBw = audioVariant ? bw(audioVariant) : { peak: 0, average: 0 };
    if (videoVariants.length === 0 && audioVariant) {
      return buildMasterPlaylist([{ uri: audioVariant.playlist, bandwidth: audioBw.peak, average_bandwidth: audioBw.average, codecs: AAC_LC }]);
    }
    const list: MasterVariant[] = videoVariants.map((v) => {
      const f = facts.get(v.name);
      const own = bw(v);
      return {
        uri: v.playlist,
        bandwidth: own.peak + audioBw.peak,
        average_bandwidth: own.average + audioBw.average,
        codecs: audioVariant ? `${f?.codec},${AAC_LC}` : `${f?.codec}`,
        resolution: `${f?.width ?? v.rung?.width}x${f?.height ?? v.rung?.height}`,
        frame_rate: ladder.fps,
        audio_group: audioVariant ? AUDIO_GROUP : undefined,
      };
    });
    const audio = audioVariant && ladder.audio ? { group: AUDIO_GROUP, name: 'Default', uri: audioVariant.playlist, channels: ladder.audio.channels } : undefined;
    return buildMasterPlaylist(list, audio);
  };
  const loadFacts = () => {
    for (const v of videoVariants) {
      if (facts.has(v.name)) continue;
      const first = parseMediaPlaylist(readPlaylist(opts.outDir, v))[0];
      if (!first) throw new MediaError('ffmpeg_failed', 'The transcoder produced no segment.');
      facts.set(v.name, videoFacts(v, path.join(opts.outDir, v.name, first.uri)));
    }
  };
  const writeAtomically = (file: string, text: string) => {
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
  };

  // Nominal bandwidth while running: nothing has been measured yet.
  const nominal = (v: HlsVariantLayout) =>
    v.kind === 'audio'
      ? { peak: ladder.audio?.bandwidth ?? 0, average: ladder.audio?.average_bandwidth ?? 0 }
      : { peak: (v.rung?.bandwidth ?? 0) - (ladder.audio?.bandwidth ?? 0), average: (v.rung?.average_bandwidth ?? 0) - (ladder.audio?.average_bandwidth ?? 0) };

  let playable = false;
  const announce = () => {
    playable = true;
    try {
      opts.onPlayable?.(masterPath);
    } catch {
      // A failing listener must not break the transcode.
    }
  };
  /** Synchronous (small reads only), so checks triggered by watch events and progress never overlap. */
  const checkPlayable = () => {
    if (playable || !variants.every((v) => hasSegment(readPlaylist(opts.outDir, v)))) return;
    try {
      loadFacts();
      writeAtomically(masterPath, masterFor(nominal));
    } catch {
      // Runs from watch events, where a throw would be uncaught: the next event, or the end, retries.
      return;
    }
    announce();
  };

  const durationUs = opts.info.duration_seconds * 1e6;
  let fraction = 0;
  let outTimeUs = 0;
  const report = (f: number) => {
    if (f <= fraction) return;
    fraction = f;
    try {
      opts.onProgress?.(f);
    } catch {
      // Listener errors are the caller's concern.
    }
  };

  // ffmpeg renames each media playlist into place when a segment completes: watching the folders
  // announces "playable" at once rather than at the next -progress report (every 0.5 s).
  // If the system is out of inotify watches, -progress reports still drive the check.
  const watchers = variants.flatMap((v) => {
    try {
      return [
        fs.watch(path.join(opts.outDir, v.name), (_event, file) => {
          if (String(file) === path.basename(v.playlist)) checkPlayable();
        }),
      ];
    } catch {
      return [];
    }
  });
  const res = await runMediaTool({
    bin: tools.ffmpeg,
    args,
    timeoutSeconds: opts.timeoutSeconds,
    signal: opts.signal,
    onStdoutLine: (line) => {
      const [key, value] = line.split('=', 2);
      if ((key === 'out_time_us' || key === 'out_time_ms') && /^\d+$/.test(value ?? '')) {
        outTimeUs = Math.max(outTimeUs, Number(value));
        // Held just below 1 until ffmpeg says it is done: the tail (flush, playlists) still runs.
        if (durationUs > 0) report(Math.min(0.99, outTimeUs / durationUs));
      } else if (key === 'progress') {
        checkPlayable();
      }
    },
  }).finally(() => {
    for (const w of watchers) w.close();
  });
  if (res.code !== 0) throw failureFrom(res.stderr);

  // A file that ends early decodes "successfully" into a shorter video: refuse it rather than
  // publish a cut-off video as if it were complete.
  const decoded = outTimeUs / 1e6;
  const declared = opts.info.duration_seconds;
  if (decoded > declared + DURATION_TOLERANCE_SECONDS) {
    throw new MediaError(
      'too_long',
      `The file holds more video than it declares: ${declared.toFixed(1)} s by its header, still playing at ${decoded.toFixed(1)} s. Files that misreport their length are refused; export the video again and upload the new file.`,
      res.stderr,
    );
  }
  if (opts.info.duration_seconds > 2 && decoded < opts.info.duration_seconds * 0.9 - 1) {
    throw new MediaError('truncated', `The file ends early: only ${decoded.toFixed(1)} s of ${opts.info.duration_seconds.toFixed(1)} s could be decoded.`, res.stderr);
  }

  const stats = new Map<string, { peak: number; average: number }>();
  const bytes = new Map<string, number>();
  for (const v of variants) {
    const text = readPlaylist(opts.outDir, v);
    if (!hasSegment(text)) throw new MediaError('ffmpeg_failed', 'The transcoder produced no segment.', res.stderr);
    writeAtomically(path.join(opts.outDir, v.playlist), finalizeMediaPlaylist(text));
    // Measured from the segments actually written, so BANDWIDTH is what players really fetch.
    const segments = segmentStats(opts.outDir, v, text);
    stats.set(v.name, measureBitrate(segments, GOP_SECONDS));
    bytes.set(
      v.name,
      segments.reduce((a, s) => a + s.bytes, 0),
    );
  }
  loadFacts();
  const measured = (v: HlsVariantLayout) => stats.get(v.name) ?? { peak: 0, average: 0 };
  writeAtomically(masterPath, masterFor(measured));
  if (!playable) announce();
  report(1);

  const audioBw = audioVariant ? measured(audioVariant) : { peak: 0, average: 0 };
  const renditions: RenditionResult[] =
    videoVariants.length === 0 && audioVariant
      ? [
          {
            height: 0,
            width: 0,
            bandwidth: audioBw.peak,
            average_bandwidth: audioBw.average,
            codecs: AAC_LC,
            frame_rate: null,
            playlist: audioVariant.playlist,
            bytes: bytes.get(audioVariant.name) ?? 0,
            quality: null,
          },
        ]
      : videoVariants.map((v) => {
          const f = facts.get(v.name) as VideoFacts;
          const own = measured(v);
          return {
            height: f.height,
            width: f.width,
            bandwidth: own.peak + audioBw.peak,
            average_bandwidth: own.average + audioBw.average,
            codecs: audioVariant ? `${f.codec},${AAC_LC}` : f.codec,
            frame_rate: ladder.fps,
            playlist: v.playlist,
            bytes: bytes.get(v.name) ?? 0,
            quality: null,
          };
        });
  return { renditions, master: MASTER_PLAYLIST, files: listFiles(opts.outDir) };
}
