// probeMedia on real files with the real ffprobe: metadata of generated clips, and a clear MediaError
// for non-media, empty, truncated, over-limit and playlist inputs, which must not make ffmpeg open
// any other file or URL (checked with a FIFO that records being opened and a counting HTTP server).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeClip } from './fixtures/clips.js';
import { MediaError, probeMedia, resolveMediaTools, transcodeToHls } from '../src/media/index.js';
import { bundledToolPath } from '../src/media/ffmpeg.binaries.js';
import { currentFfmpegSkipReason } from './helpers/media.js';

const LIMITS = { maxDurationSeconds: 3600, maxPixels: 7680 * 4320, timeoutSeconds: 20 };
let dir: string;
const p = (name: string) => path.join(dir, name);

async function rejectsWith(promise: Promise<unknown>, code: string, reason: RegExp): Promise<MediaError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MediaError, `expected MediaError, got ${String(err)}`);
    assert.equal(err.code, code, err.reason);
    assert.match(err.reason, reason);
    assert.ok(!err.reason.includes(dir), 'the reason does not leak server paths');
    return err;
  }
  assert.fail(`expected MediaError ${code}`);
}

/** A FIFO that records whether anyone opened it: a reader unblocks our pending open-for-write. */
function tripwire(file: string) {
  const made = spawnSync('mkfifo', [file]);
  assert.equal(made.status, 0, 'mkfifo');
  let opened = false;
  const pending = fs.promises.open(file, 'w').then((fh) => {
    opened = true;
    return fh;
  });
  return {
    opened: () => opened,
    async close() {
      const reader = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      await (await pending).close();
      fs.closeSync(reader);
    },
  };
}

describe('media probe', () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-probe-'));
    await Promise.all([
      makeClip({ width: 320, height: 180, seconds: 2, rotate: 90 }, p('rotated.mp4')),
      makeClip({ width: 320, height: 180, seconds: 2, codec: 'hevc', pixFmt: 'yuv420p10le' }, p('hevc10.mkv')),
      makeClip({ width: 0, height: 0, seconds: 2 }, p('voice.m4a')),
      makeClip({ width: 256, height: 144, seconds: 2, audio: false, fps: 120 }, p('silent120.mp4')),
    ]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads duration, display size after rotation, fps, codecs and audio presence', async () => {
    const info = await probeMedia(p('rotated.mp4'), LIMITS);
    assert.deepEqual(info, {
      duration_seconds: 2,
      width: 180,
      height: 320,
      rotation: 90,
      fps: 30,
      video_codec: 'h264',
      pix_fmt: 'yuv420p',
      bit_depth: 8,
      audio_codec: 'aac',
      has_video: true,
      has_audio: true,
      format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
      size_bytes: fs.statSync(p('rotated.mp4')).size,
    });
    const hevc = await probeMedia(p('hevc10.mkv'), LIMITS);
    assert.equal(hevc.video_codec, 'hevc');
    assert.equal(hevc.bit_depth, 10);
    assert.equal(hevc.pix_fmt, 'yuv420p10le');
    assert.equal(hevc.format_name, 'matroska,webm');
    assert.equal(hevc.rotation, 0);
    const audio = await probeMedia(p('voice.m4a'), LIMITS);
    assert.equal(audio.has_video, false);
    assert.equal(audio.has_audio, true);
    assert.equal(audio.width, 0);
    assert.equal(audio.video_codec, null);
    const silent = await probeMedia(p('silent120.mp4'), LIMITS);
    assert.equal(silent.has_audio, false);
    assert.equal(silent.audio_codec, null);
    assert.equal(silent.fps, 120);
  });

  it('text, empty and missing files are refused with a reason', async () => {
    fs.writeFileSync(p('notes.txt'), 'These are my holiday notes, not a video.\n'.repeat(20));
    fs.copyFileSync(p('notes.txt'), p('upload-no-extension'));
    await rejectsWith(probeMedia(p('notes.txt'), LIMITS), 'not_media', /text, not a video/);
    await rejectsWith(probeMedia(p('upload-no-extension'), LIMITS), 'not_media', /text, not a video/);
    fs.writeFileSync(p('random.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    await rejectsWith(probeMedia(p('random.bin'), LIMITS), 'not_media', /not a video or audio file/);
    fs.writeFileSync(p('empty.mp4'), '');
    await rejectsWith(probeMedia(p('empty.mp4'), LIMITS), 'empty', /empty/);
    await rejectsWith(probeMedia(p('missing.mp4'), LIMITS), 'not_media', /could not be read/);
  });

  it('truncated MP4s are refused, with the index first or last', async () => {
    const whole = fs.readFileSync(p('rotated.mp4'));
    // makeClip writes faststart files: the index survives a cut and only the data is missing.
    fs.writeFileSync(p('cut-faststart.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
    await rejectsWith(probeMedia(p('cut-faststart.mp4'), LIMITS), 'truncated', /incomplete/);
    const { ffmpeg } = resolveMediaTools();
    assert.equal(spawnSync(ffmpeg, ['-v', 'error', '-y', '-i', p('rotated.mp4'), '-c', 'copy', p('index-last.mp4')]).status, 0);
    const tail = fs.readFileSync(p('index-last.mp4'));
    fs.writeFileSync(p('cut-index-last.mp4'), tail.subarray(0, Math.floor(tail.length / 2)));
    await rejectsWith(probeMedia(p('cut-index-last.mp4'), LIMITS), 'truncated', /index is missing/);
  });

  it('duration and pixel limits', async () => {
    await rejectsWith(probeMedia(p('rotated.mp4'), { ...LIMITS, maxDurationSeconds: 1 }), 'too_long', /lasts 2 s; the limit is 1 s/);
    await rejectsWith(probeMedia(p('rotated.mp4'), { ...LIMITS, maxPixels: 320 * 179 }), 'too_large', /320×180/);
  });

  it('an HLS playlist naming /etc/passwd and a local file is refused without opening either', { skip: currentFfmpegSkipReason() }, async () => {
    // A segment-like name: ffmpeg's hls demuxer would open it (the control below proves it).
    const wire = tripwire(p('secret-segment.ts'));
    try {
      const hls = (...uris: string[]) => ['#EXTM3U', '#EXT-X-TARGETDURATION:2', ...uris.flatMap((u) => ['#EXTINF:2,', u]), '#EXT-X-ENDLIST', ''].join('\n');
      fs.writeFileSync(p('passwd.m3u8'), hls('/etc/passwd'));
      fs.writeFileSync(p('evil.m3u8'), hls(p('secret-segment.ts')));
      fs.writeFileSync(p('evil-upload'), hls(p('secret-segment.ts')));
      await rejectsWith(probeMedia(p('passwd.m3u8'), LIMITS), 'unsupported_format', /HLS playlist .* upload the video file itself/);
      await rejectsWith(probeMedia(p('evil.m3u8'), LIMITS), 'unsupported_format', /HLS playlist/);
      await rejectsWith(probeMedia(p('evil-upload'), LIMITS), 'unsupported_format', /HLS playlist/);
      // Even told the file is an MP4, the transcoder pins that demuxer and the playlist stays inert.
      const forged = await probeMedia(p('rotated.mp4'), LIMITS);
      await assert.rejects(
        transcodeToHls({ inputPath: p('evil-upload'), outDir: p('evil-out'), info: forged, preset: 'ultrafast', timeoutSeconds: 20 }),
        (err: unknown) => err instanceof MediaError && err.code !== 'timeout',
      );
      assert.equal(wire.opened(), false, 'ffmpeg opened a file named by the playlist');

      // Control: plain ffprobe with only a protocol whitelist does open the named file.
      const { ffprobe } = resolveMediaTools();
      const naive = spawn(ffprobe, ['-v', 'quiet', '-protocol_whitelist', 'file', `file:${p('evil-upload')}`], { stdio: 'ignore' });
      try {
        const deadline = Date.now() + 15_000;
        while (!wire.opened() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(wire.opened(), true, 'control: the tripwire detects an open');
      } finally {
        naive.kill('SIGKILL');
      }
    } finally {
      await wire.close();
    }
  });

  it('a concat list naming other files is refused without opening them', async () => {
    const wire = tripwire(p('concat-part.mp4'));
    try {
      // A relative name, which the concat demuxer's "safe" mode would accept.
      fs.writeFileSync(p('list.ffconcat'), "ffconcat version 1.0\nfile 'concat-part.mp4'\nfile '/etc/passwd'\n");
      await rejectsWith(probeMedia(p('list.ffconcat'), LIMITS), 'unsupported_format', /concat\/ffconcat list/);
      assert.equal(wire.opened(), false);
    } finally {
      await wire.close();
    }
  });

  it('a playlist naming an http URL is refused without any request', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      fs.writeFileSync(p('remote.m3u8'), `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://127.0.0.1:${port}/seg.ts\n#EXT-X-ENDLIST\n`);
      await rejectsWith(probeMedia(p('remote.m3u8'), LIMITS), 'unsupported_format', /HLS playlist/);
      assert.equal(requests, 0);
    } finally {
      server.close();
    }
  });

  it('finds its binaries: bad explicit path → clear error; the bundled npm binary runs when installed', (t) => {
    assert.throws(
      () => resolveMediaTools({ ffmpegPath: p('no-such-ffmpeg') }),
      (err: unknown) => err instanceof MediaError && err.code === 'tool_missing' && /FFMPEG_PATH/.test(err.reason),
    );
    const bundled = bundledToolPath('ffprobe');
    if (!bundled) {
      t.skip('optional @ffprobe-installer/ffprobe not installed on this platform');
      return;
    }
    assert.equal(resolveMediaTools({ ffprobePath: bundled }).ffprobe, bundled);
  });
});
