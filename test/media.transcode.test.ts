// The one-decode HLS ladder on real ffmpeg, checked from the outside with ffprobe: which renditions
// exist, their real sizes, bitrates, codecs and keyframes, the master and media playlists, progress,
// the playable signal, 10-bit/HEVC/VP9/high-fps inputs, timeouts, and poster/storyboard output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeClip, type ClipSpec } from './fixtures/clips.js';
import { currentFfmpegSkipReason } from './helpers/media.js';
import { generateThumbnails, MediaError, planLadder, probeMedia, resolveMediaTools, transcodeToHls, type TranscodeResult } from '../src/media/index.js';

const LIMITS = { maxDurationSeconds: 3600, maxPixels: 7680 * 4320, timeoutSeconds: 30 };
let dir: string;
const p = (...parts: string[]) => path.join(dir, ...parts);

/** The fields of ffprobe's JSON output these tests read (each present only when asked for with -show_entries). */
interface Probe {
  streams: {
    codec_type: string;
    codec_name: string;
    channels: number;
    sample_rate: string;
    width: number;
    height: number;
    pix_fmt: string;
    profile: string;
    level: number;
    r_frame_rate: string;
    side_data_list?: unknown[];
  }[];
  packets: { pts_time: string; flags: string }[];
  format: { duration: string };
}

function ffprobe(file: string, args: string[]): Probe {
  const res = spawnSync(resolveMediaTools().ffprobe, ['-v', 'error', ...args, '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as Probe;
}

interface Run {
  result: TranscodeResult;
  out: string;
  progress: number[];
  playable: string[];
  master: string;
}

async function transcode(name: string, spec: ClipSpec, preset = 'ultrafast', ext = 'mp4'): Promise<Run> {
  const src = await makeClip(spec, p(`${name}.${ext}`));
  const info = await probeMedia(src, LIMITS);
  const out = p(`${name}-hls`);
  const progress: number[] = [];
  const playable: string[] = [];
  const result = await transcodeToHls({
    inputPath: src,
    outDir: out,
    info,
    preset,
    timeoutSeconds: 120,
    onProgress: (f) => progress.push(f),
    onPlayable: (m) => {
      // When announced, the master and every media playlist it names must already be usable.
      const master = fs.readFileSync(m, 'utf8');
      for (const uri of master.split('\n').filter((l) => l.endsWith('.m3u8'))) assert.match(fs.readFileSync(path.join(out, uri), 'utf8'), /#EXTINF/);
      for (const uri of [...master.matchAll(/URI="([^"]+)"/g)].map((m2) => m2[1])) assert.match(fs.readFileSync(path.join(out, uri), 'utf8'), /#EXTINF/);
      playable.push(m);
    },
  });
  return { result, out, progress, playable, master: fs.readFileSync(path.join(out, result.master), 'utf8') };
}

/** Attributes of each #EXT-X-STREAM-INF line, with the URI that follows it. */
function variants(master: string): Array<Record<string, string>> {
  const lines = master.trim().split('\n');
  return lines.flatMap((l, i) => {
    if (!l.startsWith('#EXT-X-STREAM-INF:')) return [];
    const attrs: Record<string, string> = { uri: lines[i + 1] };
    for (const m of l.slice(18).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attrs[m[1]] = m[2].replace(/"/g, '');
    return [attrs];
  });
}

function segments(run: Run, playlist: string): string[] {
  const text = fs.readFileSync(path.join(run.out, playlist), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.endsWith('.ts'))
    .map((s) => path.join(run.out, path.dirname(playlist), s));
}

/** The checks every run must pass: what ffprobe sees matches what the master playlist says. */
function checkRun(run: Run, expected: string[]) {
  const { result } = run;
  assert.deepEqual(
    result.renditions.map((r) => `${r.width}x${r.height}`),
    expected,
  );
  assert.ok(run.progress.length > 0 && run.progress.at(-1) === 1, 'progress ends at 1');
  for (let i = 1; i < run.progress.length; i++) assert.ok(run.progress[i] > run.progress[i - 1], 'progress strictly increases');
  assert.equal(run.playable.length, 1, 'onPlayable fires once');
  for (const f of result.files) assert.ok(fs.statSync(path.join(run.out, f)).size > 0, f);
  assert.ok(!result.files.some((f) => f.endsWith('.tmp')));

  const listed = variants(run.master);
  assert.equal(listed.length, result.renditions.length);
  for (const r of result.renditions) {
    const v = listed.find((x) => x.uri === r.playlist);
    assert.ok(v, `master lists ${r.playlist}`);
    assert.equal(Number(v.BANDWIDTH), r.bandwidth);
    assert.equal(Number(v['AVERAGE-BANDWIDTH']), r.average_bandwidth);
    assert.ok(r.bandwidth >= r.average_bandwidth);
    assert.equal(v.CODECS, r.codecs);

    const media = fs.readFileSync(path.join(run.out, r.playlist), 'utf8');
    for (const tag of ['#EXT-X-TARGETDURATION:', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-ENDLIST', '#EXT-X-INDEPENDENT-SEGMENTS']) assert.ok(media.includes(tag), `${r.playlist} has ${tag}`);
    const segs = segments(run, r.playlist);
    assert.ok(segs.length > 0);
    if (r.height === 0) continue;

    assert.equal(v.RESOLUTION, `${r.width}x${r.height}`);
    assert.equal(Number(v['FRAME-RATE']), r.frame_rate);
    const s = ffprobe(segs[0], ['-select_streams', 'v:0', '-show_entries', 'stream=width,height,pix_fmt,codec_name,profile,level:stream_side_data=rotation']).streams[0];
    assert.equal(`${s.width}x${s.height}`, `${r.width}x${r.height}`, 'real size');
    assert.equal(s.codec_name, 'h264');
    assert.equal(s.pix_fmt, 'yuv420p');
    assert.equal(s.side_data_list, undefined, 'no rotation left for the player to apply');
    const level = r.codecs.slice(9, 11);
    assert.equal(parseInt(level, 16), s.level, 'CODECS carries the real level');
  }
}

/** The audio group's media playlist, as the master names it. */
function audioPlaylist(run: Run): string {
  const uri = /#EXT-X-MEDIA:TYPE=AUDIO,[^\n]*URI="([^"]+)"/.exec(run.master)?.[1];
  assert.ok(uri, 'master has an audio group');
  return uri;
}

/** Measured video+audio bitrate of a rendition (bits over its segments' durations, by ffprobe). */
function measuredBps(run: Run, playlist: string, withAudio: boolean): number {
  const files = [...segments(run, playlist), ...(withAudio ? segments(run, audioPlaylist(run)) : [])];
  const video = segments(run, playlist);
  const seconds = video.reduce((a, f) => a + Number(ffprobe(f, ['-show_entries', 'format=duration']).format.duration), 0);
  const bits = files.reduce((a, f) => a + fs.statSync(f).size * 8, 0);
  return bits / seconds;
}

describe('media transcode', { skip: currentFfmpegSkipReason() }, () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-transcode-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('landscape 1080p → 1080/720/480/360 with real sizes, bitrates near the ladder and a complete master', async () => {
    const run = await transcode('hd', { width: 1920, height: 1080, seconds: 2 });
    checkRun(run, ['1920x1080', '1280x720', '854x480', '640x360']);
    const plan = planLadder({ ...(await probeMedia(p('hd.mp4'), LIMITS)) });
    const measured = run.result.renditions.map((r) => measuredBps(run, r.playlist, true));
    run.result.renditions.forEach((r, i) => {
      const nominal = plan.video[i].average_bandwidth;
      assert.ok(measured[i] > nominal * 0.5 && measured[i] < nominal * 1.6, `${r.height}p: ${Math.round(measured[i])} b/s vs nominal ${nominal}`);
      assert.ok(Math.abs(measured[i] - r.average_bandwidth) / measured[i] < 0.1, 'AVERAGE-BANDWIDTH matches what ffprobe measures');
      if (i > 0) assert.ok(measured[i] < measured[i - 1], 'each rung is lighter than the one above');
    });
    assert.match(run.master, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Default",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="v4\/index.m3u8"/);
    for (const v of variants(run.master)) assert.equal(v.AUDIO, 'aud');
    const audio = ffprobe(segments(run, audioPlaylist(run))[0], ['-show_entries', 'stream=codec_name,codec_type,channels,sample_rate']).streams;
    assert.deepEqual(
      audio.map((s) => [s.codec_type, s.codec_name, s.channels, s.sample_rate]),
      [['audio', 'aac', 2, '48000']],
    );
    const videoOnly = ffprobe(segments(run, run.result.renditions[3].playlist)[0], ['-show_entries', 'stream=codec_type']).streams;
    assert.deepEqual(
      videoOnly.map((s) => s.codec_type),
      ['video'],
      'audio is encoded once, in its own group',
    );
  });

  it('portrait by rotation (1920×1080 coded, rotated 90°) → 1080×1920 … 360×640', async () => {
    const run = await transcode('portrait', { width: 1920, height: 1080, seconds: 2, rotate: 90, audio: false });
    checkRun(run, ['1080x1920', '720x1280', '480x854', '360x640']);
    assert.ok(!run.master.includes('#EXT-X-MEDIA'), 'a silent video has no audio group');
    assert.deepEqual(
      fs
        .readdirSync(run.out)
        .filter((f) => fs.statSync(path.join(run.out, f)).isDirectory())
        .sort(),
      ['v0', 'v1', 'v2', 'v3'],
    );
  });

  it('480p source → 480 + 360 only, keyframes aligned across renditions every 2 s', async () => {
    const run = await transcode('sd', { width: 854, height: 480, seconds: 4 });
    checkRun(run, ['854x480', '640x360']);
    const keyframes = run.result.renditions.map((r) =>
      segments(run, r.playlist).flatMap((f) =>
        ffprobe(f, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags'])
          .packets.filter((k) => k.flags.startsWith('K'))
          .map((k) => Number(k.pts_time)),
      ),
    );
    assert.equal(keyframes[0].length, 2, `one keyframe per 2 s: ${keyframes[0]}`);
    assert.ok(Math.abs(keyframes[0][1] - keyframes[0][0] - 2) < 0.05);
    assert.deepEqual(keyframes[1], keyframes[0]);
  });

  it('240p source → one 240p rendition', async () => {
    const run = await transcode('tiny', { width: 320, height: 240, seconds: 2 });
    checkRun(run, ['320x240']);
  });

  it('audio-only → one audio rendition', async () => {
    const run = await transcode('voice', { width: 0, height: 0, seconds: 2 }, 'ultrafast', 'm4a');
    assert.deepEqual(
      run.result.renditions.map((r) => [r.height, r.codecs, r.playlist]),
      [[0, 'mp4a.40.2', 'v0/index.m3u8']],
    );
    checkRun(run, ['0x0']);
    const [v] = variants(run.master);
    assert.equal(v.CODECS, 'mp4a.40.2');
    assert.equal(v.RESOLUTION, undefined);
    assert.ok(Number(v.BANDWIDTH) > 100_000 && Number(v.BANDWIDTH) < 200_000, v.BANDWIDTH);
  });

  it('10-bit HEVC → 8-bit H.264 High; VP9 at 120 fps → 60 fps', async () => {
    const hevc = await transcode('hevc10', { width: 640, height: 360, seconds: 2, codec: 'hevc', pixFmt: 'yuv420p10le' }, 'superfast', 'mkv');
    checkRun(hevc, ['640x360']);
    assert.match(hevc.result.renditions[0].codecs, /^avc1\.6400[0-9a-f]{2},mp4a\.40\.2$/, 'High profile');
    const vp9 = await transcode('vp9', { width: 480, height: 270, seconds: 2, fps: 120 }, 'ultrafast', 'webm');
    checkRun(vp9, ['480x270']);
    assert.equal(vp9.result.renditions[0].frame_rate, 60);
    const rate = ffprobe(segments(vp9, vp9.result.renditions[0].playlist)[0], ['-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate']).streams[0].r_frame_rate;
    assert.equal(rate, '60/1');
  });

  it('a wall-clock timeout stops ffmpeg and everything it started', async () => {
    const src = await makeClip({ width: 1280, height: 720, seconds: 4 }, p('slow.mp4'));
    const info = await probeMedia(src, LIMITS);
    const out = p('timeout-out');
    await assert.rejects(
      transcodeToHls({ inputPath: src, outDir: out, info, preset: 'medium', timeoutSeconds: 0.3 }),
      (err: unknown) => err instanceof MediaError && err.code === 'timeout' && err.retryable && /0\.3 s limit/.test(err.reason),
    );
    const left = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(out);
        } catch {
          return false;
        }
      });
    assert.deepEqual(left, [], 'no ffmpeg left running');
    const controller = new AbortController();
    const aborted = transcodeToHls({ inputPath: src, outDir: p('abort-out'), info, preset: 'medium', timeoutSeconds: 60, signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(aborted, (err: unknown) => err instanceof MediaError && err.code === 'aborted');
  });

  it('poster at ~10 % and a storyboard sprite with #xywh cues; none for audio-only', async () => {
    const src = await makeClip({ width: 640, height: 360, seconds: 4, audio: false }, p('thumbs.mp4'));
    const info = await probeMedia(src, LIMITS);
    const out = p('thumbs');
    const res = await generateThumbnails({ inputPath: src, outDir: out, info, timeoutSeconds: 60 });
    assert.ok(res);
    const poster = ffprobe(path.join(out, res.poster), ['-show_entries', 'stream=codec_name,width,height']).streams[0];
    assert.deepEqual([poster.codec_name, poster.width, poster.height], ['mjpeg', 640, 360]);
    const sprite = ffprobe(path.join(out, res.sprite), ['-show_entries', 'stream=codec_name,width,height']).streams[0];
    assert.deepEqual([sprite.codec_name, sprite.width, sprite.height], ['mjpeg', 4 * 160, 90]);
    const vtt = fs.readFileSync(path.join(out, res.vtt), 'utf8');
    assert.equal(vtt.match(/#xywh=/g)?.length, 4);
    assert.match(vtt, /00:00:03\.000 --> 00:00:04\.000\nstoryboard\.jpg#xywh=480,0,160,90/);
    const voice = await probeMedia(await makeClip({ width: 0, height: 0, seconds: 1 }, p('v.m4a')), LIMITS);
    assert.equal(await generateThumbnails({ inputPath: p('v.m4a'), outDir: p('vthumbs'), info: voice, timeoutSeconds: 60 }), null);
  });
});
