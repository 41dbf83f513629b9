// Pure pieces of live streaming, without servers: ladder choice, the ffmpeg command, playlists,
// viewer expiry and the FLV/AVC header parsing used by the ingest caps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLiveFfmpegArgs, liveMasterPlaylist, parseMediaPlaylist, selectLiveLadder } from '../src/media/live.args.js';
import { ViewerTracker } from '../src/live/live.viewers.js';
import { avcDimensions } from '../src/live/live.rtmp.js';
import { hashStreamKey, secretsEqual } from '../src/live/live.service.js';

describe('live ladder', () => {
  it('takes the contract tiers that fit the input, never upscaling', () => {
    assert.deepEqual(
      selectLiveLadder(1920, 1080, true, 2).rungs.map((r) => r.name),
      ['1080p', '720p', '480p', '360p'],
    );
    assert.deepEqual(
      selectLiveLadder(1280, 720, true, 2).rungs.map((r) => [r.name, r.width, r.height, r.video_kbps]),
      [
        ['720p', 1280, 720, 2500],
        ['480p', 854, 480, 1200],
        ['360p', 640, 360, 600],
      ],
    );
    assert.deepEqual(
      selectLiveLadder(854, 480, false, 2).rungs.map((r) => r.name),
      ['480p', '360p'],
    );
    assert.deepEqual(
      selectLiveLadder(640, 360, true, 2).rungs.map((r) => r.name),
      ['360p'],
    );
  });

  it('keeps portrait orientation and gives a small input one rung at its own size', () => {
    const portrait = selectLiveLadder(720, 1280, true, 2).rungs;
    assert.deepEqual(
      portrait.map((r) => [r.name, r.width, r.height]),
      [
        ['720p', 720, 1280],
        ['480p', 480, 854],
        ['360p', 360, 640],
      ],
    );
    const small = selectLiveLadder(320, 240, true, 1);
    assert.equal(small.rungs.length, 1);
    assert.equal(small.rungs[0].width, 320);
    assert.equal(small.rungs[0].height, 240);
    assert.equal(small.segment_seconds, 1);
  });

  it('reports no audio rung for a silent input', () => {
    assert.equal(selectLiveLadder(640, 360, false, 2).audio_kbps, null);
    assert.equal(selectLiveLadder(640, 360, true, 2).audio_kbps, 128);
  });
});

describe('live ffmpeg command', () => {
  const ladder = selectLiveLadder(854, 480, true, 2);
  const args = buildLiveFfmpegArgs({ ladder, outDir: '/tmp/x', segmentPrefix: 'abc', listSize: 6, startNumber: 7, discontinuity: true, preset: 'ultrafast', recordingPath: '/tmp/x/rec.ts' });
  const joined = args.join(' ');

  it('decodes once and splits into one scaled branch per rung', () => {
    assert.equal(args.filter((a) => a === '-i').length, 1);
    assert.ok(args.includes('pipe:0'));
    const fc = args[args.indexOf('-filter_complex') + 1];
    assert.match(fc, /split=2\[s0\]\[s1\]/);
    assert.match(fc, /scale=854:480/);
    assert.match(fc, /scale=640:360/);
  });

  it('aligns keyframes with segments and writes a sliding-window HLS per rung', () => {
    assert.match(joined, /-force_key_frames expr:gte\(t,n_forced\*2\)/);
    assert.match(joined, /-hls_time 2 /);
    assert.match(joined, /-hls_list_size 6 /);
    assert.match(joined, /-start_number 7 /);
    assert.match(joined, /delete_segments/);
    assert.match(joined, /discont_start/);
    assert.equal(args[args.indexOf('-var_stream_map') + 1], 'v:0,a:0,name:480p v:1,a:1,name:360p');
    assert.ok(args.includes('/tmp/x/%v/abc_%05d.ts'));
    assert.match(joined, /-b:v:0 1200k/);
    assert.match(joined, /-b:v:1 600k/);
  });

  it('reports progress (frames dropped and duplicated) on stdout for the ingest health', () => {
    assert.equal(args[args.indexOf('-progress') + 1], 'pipe:1');
    assert.ok(args.indexOf('-progress') < args.indexOf('-i'), 'a global option, before the input');
  });

  it('adds a stream copy of the input for the recording', () => {
    assert.equal(args[args.length - 1], '/tmp/x/rec.ts');
    assert.ok(joined.endsWith('-map 0:v:0 -map 0:a:0 -c copy -f mpegts /tmp/x/rec.ts'));
  });

  it('maps no audio when the input has none', () => {
    const silent = buildLiveFfmpegArgs({
      ladder: selectLiveLadder(640, 360, false, 2),
      outDir: '/o',
      segmentPrefix: 'p',
      listSize: 4,
      startNumber: 0,
      discontinuity: false,
      preset: 'veryfast',
      recordingPath: null,
    });
    assert.ok(!silent.includes('0:a:0'));
    assert.ok(!silent.includes('-c:a'));
    assert.equal(silent[silent.indexOf('-var_stream_map') + 1], 'v:0,name:360p');
    assert.ok(!silent.join(' ').includes('discont_start'));
  });
});

describe('live playlists', () => {
  it('master lists every rung with bandwidth, resolution, codecs and the viewer query', () => {
    const text = liveMasterPlaylist(selectLiveLadder(854, 480, true, 2), 'viewer=abc');
    const lines = text.trim().split('\n');
    assert.equal(lines[0], '#EXTM3U');
    assert.equal(lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF')).length, 2);
    assert.match(text, /RESOLUTION=854x480,CODECS="avc1\.4d4029,mp4a\.40\.2"/);
    assert.ok(lines.includes('480p/index.m3u8?viewer=abc'));
    assert.ok(lines.includes('360p/index.m3u8?viewer=abc'));
  });

  it('parses media sequence, segments and end of list', () => {
    const pl = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:12\n#EXTINF:2.0,\na_00012.ts\n#EXTINF:2.0,\na_00013.ts\n');
    assert.deepEqual(pl, { mediaSequence: 12, segments: ['a_00012.ts', 'a_00013.ts'], ended: false });
    assert.equal(parseMediaPlaylist('#EXTM3U\n#EXT-X-ENDLIST\n').ended, true);
  });
});

describe('viewer tracker', () => {
  it('counts pollers until they stop polling, chat sockets until they leave, one id once', () => {
    const v = new ViewerTracker(4000);
    v.polled('s', 'a', 1000);
    v.polled('s', 'b', 1000);
    v.joined('s', 'b');
    v.joined('s', 'c');
    assert.equal(v.count('s', 1500), 3);
    assert.equal(v.sweep(6000).get('s'), 2, 'a expired; b and c hold chat sockets');
    v.left('s', 'b');
    v.left('s', 'c');
    assert.equal(v.sweep(6000).get('s'), 0);
    assert.equal(v.sweep(6000).has('s'), false);
  });

  it('counts at most maxPerAddress viewers of a stream from one client address', () => {
    const v = new ViewerTracker(4000, 2);
    assert.equal(v.polled('s', 'a', 1000, '203.0.113.5'), true);
    assert.equal(v.polled('s', 'b', 1000, '203.0.113.5'), true);
    assert.equal(v.polled('s', 'invented-1', 1000, '203.0.113.5'), false, 'a third id from the same address is not counted');
    assert.equal(v.joined('s', 'invented-2', '203.0.113.5'), false);
    assert.equal(v.polled('s', 'a', 1500, '203.0.113.5'), true, 'a counted viewer keeps polling');
    assert.equal(v.polled('s', 'c', 1000, '198.51.100.7'), true, 'another address has its own room');
    assert.equal(v.polled('t', 'd', 1000, '203.0.113.5'), true, 'and so does another stream');
    assert.equal(v.count('s', 1600), 3);
    v.sweep(5200); // b (and c) expired; a polled until 5500
    assert.equal(v.polled('s', 'e', 5200, '203.0.113.5'), true, 'an expired viewer frees its slot');
    assert.equal(v.polled('s', 'f', 5200, '203.0.113.5'), false);
  });
});

describe('ingest helpers', () => {
  it('reads width and height from an AVC sequence header', () => {
    // The SPS/PPS x264 writes for testsrc2 at 640x360 (Constrained Baseline, ultrafast).
    const sps = Buffer.from('6742c01eda0280bfe5c04400000300040000030' + '0f03c58ba80', 'hex');
    const pps = Buffer.from('68ce0fc8', 'hex');
    const record = Buffer.concat([
      Buffer.from([0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1]),
      Buffer.from([sps.length >> 8, sps.length & 0xff]),
      sps,
      Buffer.from([0x01, pps.length >> 8, pps.length & 0xff]),
      pps,
    ]);
    assert.deepEqual(avcDimensions(record), { width: 640, height: 360 });
    assert.equal(avcDimensions(Buffer.from([0x17, 0])), null);
  });

  it('stores keys as sha256 and compares secrets in constant time', () => {
    assert.match(hashStreamKey('live_abc'), /^[0-9a-f]{64}$/);
    assert.notEqual(hashStreamKey('live_abc'), 'live_abc');
    assert.equal(secretsEqual('same-secret-value', 'same-secret-value'), true);
    assert.equal(secretsEqual('same-secret-value', 'other-secret-val'), false);
  });
});
