// Pure pieces of the media toolkit, without ffmpeg: ladder selection, the one-decode command line,
// playlist writing/finalising, bitrate measurement and storyboard cues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLadder, outputFps } from '../src/media/ladder.js';
import { buildHlsArgs, pinnedDemuxer } from '../src/media/hls.args.js';
import { buildMasterPlaylist, finalizeMediaPlaylist, measureBitrate, parseMediaPlaylist } from '../src/media/hls.playlist.js';
import { avc1FromSps, findSps } from '../src/media/hls.codecs.js';
import { storyboardLayout, storyboardVtt } from '../src/media/thumbnails.js';
import type { MediaInfo } from '../src/media/media.types.js';

function info(width: number, height: number, extra: Partial<MediaInfo> = {}): MediaInfo {
  return {
    duration_seconds: 10,
    width,
    height,
    rotation: 0,
    fps: 30,
    video_codec: width ? 'h264' : null,
    pix_fmt: width ? 'yuv420p' : null,
    bit_depth: width ? 8 : null,
    audio_codec: 'aac',
    has_video: width > 0,
    has_audio: true,
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
    size_bytes: 1000,
    ...extra,
  };
}
const sizes = (i: MediaInfo) => planLadder(i).video.map((r) => `${r.width}x${r.height}`);

describe('ladder', () => {
  it('landscape 1080p → 1080/720/480/360 at the contract bitrates', () => {
    const plan = planLadder(info(1920, 1080));
    assert.deepEqual(
      plan.video.map((r) => `${r.width}x${r.height}`),
      ['1920x1080', '1280x720', '854x480', '640x360'],
    );
    assert.deepEqual(
      plan.video.map((r) => r.video_kbps),
      [5000, 2500, 1200, 600],
    );
    assert.deepEqual(
      plan.video.map((r) => r.name),
      ['1080p', '720p', '480p', '360p'],
    );
    for (const r of plan.video) {
      assert.ok(r.maxrate_kbps > r.video_kbps && r.maxrate_kbps <= r.video_kbps * 1.1 + 1, 'peak within 110 %');
      assert.ok(r.bufsize_kbps >= r.maxrate_kbps);
      assert.ok(r.bandwidth > r.average_bandwidth, 'BANDWIDTH is the peak, above AVERAGE-BANDWIDTH');
      assert.ok(r.average_bandwidth >= (r.video_kbps + 128) * 1000, 'average counts video + audio');
    }
    assert.equal(plan.audio?.audio_kbps, 128);
    assert.equal(plan.fps, 30);
    assert.equal(plan.gop_frames, 60);
    assert.equal(plan.segment_seconds, 6);
  });

  it('480p source → 480 + 360 only; never upscaled', () => {
    assert.deepEqual(sizes(info(854, 480)), ['854x480', '640x360']);
    assert.deepEqual(sizes(info(640, 480)), ['640x480', '480x360']);
  });

  it('below 360p → one rendition at its own even size', () => {
    const plan = planLadder(info(320, 240));
    assert.deepEqual(
      plan.video.map((r) => `${r.width}x${r.height}`),
      ['320x240'],
    );
    assert.equal(plan.video[0].name, '240p');
    assert.ok(plan.video[0].video_kbps >= 150 && plan.video[0].video_kbps < 600);
    assert.deepEqual(sizes(info(321, 241)), ['320x240']);
  });

  it('portrait keeps its orientation, tiers by the short side', () => {
    assert.deepEqual(sizes(info(1080, 1920)), ['1080x1920', '720x1280', '480x854', '360x640']);
  });

  it('4K tops out at 1080p', () => {
    assert.deepEqual(sizes(info(3840, 2160)), ['1920x1080', '1280x720', '854x480', '640x360']);
  });

  it('odd sizes become even and the tier never exceeds the short side', () => {
    assert.deepEqual(sizes(info(1279, 719)), ['854x480', '640x360']);
    assert.deepEqual(sizes(info(641, 361)), ['640x360']);
    for (const r of planLadder(info(1921, 1081)).video) assert.ok(r.width % 2 === 0 && r.height % 2 === 0);
  });

  it('audio-only → no video rungs, one audio rendition; silent video → no audio', () => {
    const a = planLadder(info(0, 0, { has_video: false }));
    assert.equal(a.video.length, 0);
    assert.ok(a.audio && a.audio.bandwidth > 0);
    const s = planLadder(info(1280, 720, { has_audio: false, audio_codec: null }));
    assert.equal(s.audio, null);
    assert.equal(s.video[0].average_bandwidth, Math.round(2500 * 1000 * 1.06));
  });

  it('fps above 60 is capped (120 → 60, 100 → 50); 29.97 and 60 stay', () => {
    assert.equal(planLadder(info(1280, 720, { fps: 120 })).fps, 60);
    assert.equal(planLadder(info(1280, 720, { fps: 120 })).gop_frames, 120);
    assert.equal(outputFps(100), 50);
    assert.equal(outputFps(60), 60);
    assert.equal(outputFps(29.97), 29.97);
    assert.equal(outputFps(0), 30);
  });
});

describe('one-decode HLS command', () => {
  const outDir = '/out';
  it('decodes once, splits to every rung, shares one audio encode, aligns keyframes', () => {
    const i = info(1920, 1080);
    const { args, variants } = buildHlsArgs({ inputPath: '/in/source', outDir, info: i, ladder: planLadder(i), preset: 'veryfast' });
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(args.filter((a) => a === '-i').length, 1, 'one input');
    assert.equal(at('-i'), 'file:/in/source');
    assert.equal(at('-f'), 'mov', 'demuxer pinned to the probed one');
    assert.equal(at('-protocol_whitelist'), 'file');
    assert.ok(!at('-format_whitelist').split(',').includes('hls'));
    const graph = at('-filter_complex');
    assert.match(graph, /^\[0:v:0\]fps=30,split=4\[s0\]\[s1\]\[s2\]\[s3\]/);
    assert.match(graph, /\[s3\]scale=640:360:[^;]*format=yuv420p\[v3\]/);
    assert.equal(args.filter((a) => a === '-c:v').length, 1);
    assert.equal(at('-c:v'), 'libx264');
    assert.equal(at('-profile:v'), 'high');
    assert.equal(at('-pix_fmt'), 'yuv420p');
    assert.equal(at('-preset'), 'veryfast');
    assert.equal(at('-b:v:0'), '5000k');
    assert.equal(at('-b:v:3'), '600k');
    assert.equal(at('-maxrate:v:1'), '2750k');
    assert.equal(at('-g'), '60');
    assert.equal(at('-keyint_min'), '60');
    assert.equal(at('-sc_threshold'), '0');
    assert.equal(at('-force_key_frames'), 'expr:gte(t,n_forced*2)');
    assert.equal(args.filter((a) => a === '-c:a').length, 1, 'audio encoded once');
    assert.equal(at('-hls_time'), '6');
    assert.equal(at('-hls_playlist_type'), 'event');
    assert.equal(at('-progress'), 'pipe:1');
    assert.equal(at('-var_stream_map'), 'v:0,agroup:aud v:1,agroup:aud v:2,agroup:aud v:3,agroup:aud a:0,agroup:aud');
    assert.equal(args.at(-1), '/out/v%v/index.m3u8');
    assert.equal(at('-hls_segment_filename'), '/out/v%v/seg_%05d.ts');
    assert.deepEqual(
      variants.map((v) => [v.kind, v.playlist, v.rung?.height]),
      [
        ['video', 'v0/index.m3u8', 1080],
        ['video', 'v1/index.m3u8', 720],
        ['video', 'v2/index.m3u8', 480],
        ['video', 'v3/index.m3u8', 360],
        ['audio', 'v4/index.m3u8', undefined],
      ],
    );
  });

  it('audio-only and silent inputs', () => {
    const a = info(0, 0, { has_video: false, format_name: 'mp3' });
    const cmd = buildHlsArgs({ inputPath: '/in', outDir, info: a, ladder: planLadder(a), preset: 'veryfast' });
    assert.ok(!cmd.args.includes('-filter_complex'));
    assert.equal(cmd.args[cmd.args.indexOf('-var_stream_map') + 1], 'a:0');
    assert.deepEqual(
      cmd.variants.map((v) => v.playlist),
      ['v0/index.m3u8'],
    );
    assert.equal(cmd.args[cmd.args.indexOf('-f') + 1], 'mp3');
    const s = info(640, 360, { has_audio: false });
    const silent = buildHlsArgs({ inputPath: '/in', outDir, info: s, ladder: planLadder(s), preset: 'veryfast' });
    assert.ok(!silent.args.includes('-c:a') && !silent.args.includes('0:a:0'));
    assert.equal(silent.args[silent.args.indexOf('-var_stream_map') + 1], 'v:0,agroup:aud');
    assert.equal(pinnedDemuxer('matroska,webm'), 'matroska');
  });
});

describe('playlists', () => {
  const event = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    '#EXT-X-TARGETDURATION:6',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:EVENT',
    '#EXTINF:6.006000,',
    'seg_00000.ts',
    '#EXTINF:6.500000,',
    'seg_00001.ts',
    '#EXTINF:1.2,',
    'seg_00002.ts',
    '',
  ].join('\n');

  it('finalises an EVENT media playlist into VOD with ENDLIST, INDEPENDENT-SEGMENTS and a rounded-up TARGETDURATION', () => {
    const vod = finalizeMediaPlaylist(event);
    const lines = vod.trim().split('\n');
    assert.equal(lines[0], '#EXTM3U');
    assert.ok(lines.includes('#EXT-X-PLAYLIST-TYPE:VOD'));
    assert.ok(!vod.includes('EVENT'));
    assert.ok(lines.includes('#EXT-X-INDEPENDENT-SEGMENTS'));
    assert.ok(lines.includes('#EXT-X-TARGETDURATION:7'));
    assert.equal(lines.at(-1), '#EXT-X-ENDLIST');
    assert.equal(finalizeMediaPlaylist(vod), vod, 'idempotent');
    assert.deepEqual(
      parseMediaPlaylist(vod).map((s) => s.uri),
      ['seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts'],
    );
  });

  it('measures peak and average; a short final segment does not set the peak', () => {
    const m = measureBitrate(
      [
        { duration: 6, bytes: 600_000 },
        { duration: 6, bytes: 900_000 },
        { duration: 0.5, bytes: 200_000 },
      ],
      2,
    );
    assert.equal(m.peak, 1_200_000);
    assert.equal(m.average, Math.round((1_700_000 * 8) / 12.5));
  });

  it('avc1 strings come from the SPS: profile, constraints and level', () => {
    // An access unit delimiter, then an SPS NAL (0x67) for High profile level 4.0.
    const au = Buffer.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac, 0xd9]);
    assert.deepEqual(findSps(au), [0x64, 0x00, 0x28]);
    assert.equal(avc1FromSps([0x64, 0x00, 0x28]), 'avc1.640028');
    assert.equal(avc1FromSps([0x4d, 0x40, 0x1e]), 'avc1.4d401e');
    assert.equal(avc1FromSps([0x42, 0xc0, 0x0d]), 'avc1.42c00d');
    assert.equal(findSps(Buffer.from([0, 0, 1, 0x65, 1, 2, 3, 4])), null, 'an IDR slice is not an SPS');
  });

  it('master playlist lists every variant with its attributes and the shared audio group', () => {
    const text = buildMasterPlaylist(
      [
        { uri: '360p/index.m3u8', bandwidth: 800_000, average_bandwidth: 700_000, codecs: 'avc1.64001e,mp4a.40.2', resolution: '640x360', frame_rate: 29.97, audio_group: 'aud' },
        { uri: '720p/index.m3u8', bandwidth: 3_000_000, average_bandwidth: 2_700_000, codecs: 'avc1.64001f,mp4a.40.2', resolution: '1280x720', frame_rate: 29.97, audio_group: 'aud' },
      ],
      { group: 'aud', name: 'Default', uri: 'audio/index.m3u8', channels: 2 },
    );
    const lines = text.trim().split('\n');
    assert.equal(lines[0], '#EXTM3U');
    assert.match(text, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Default",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio\/index.m3u8"/);
    const inf = lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF:'));
    assert.equal(inf.length, 2);
    assert.equal(inf[0], '#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2700000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=29.970,AUDIO="aud"');
    assert.equal(lines[lines.indexOf(inf[0]) + 1], '720p/index.m3u8');
  });
});

describe('storyboard', () => {
  it('at most 100 tiles of whole seconds, cues pointing into the sprite', () => {
    const short = storyboardLayout(info(1920, 1080, { duration_seconds: 12 }));
    assert.deepEqual({ ...short }, { interval: 1, count: 12, columns: 10, rows: 2, tileWidth: 160, tileHeight: 90 });
    const long = storyboardLayout(info(1080, 1920, { duration_seconds: 3600 }));
    assert.equal(long.interval, 36);
    assert.equal(long.count, 100);
    assert.equal(long.tileHeight, 284);
    const vtt = storyboardVtt(short, 12, 'storyboard.jpg');
    assert.ok(vtt.startsWith('WEBVTT\n'));
    assert.match(vtt, /00:00:00\.000 --> 00:00:01\.000\nstoryboard\.jpg#xywh=0,0,160,90/);
    assert.match(vtt, /00:00:11\.000 --> 00:00:12\.000\nstoryboard\.jpg#xywh=160,90,160,90/);
  });
});
