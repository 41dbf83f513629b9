// Pure pieces of clips, DVR and chat replay, without servers: which segments cover a range, the
// DVR playlist length, live segment capture times, and recording/clip timelines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipMediaPlaylist, coveringSegments } from '../src/clips/clips.cut.js';
import { recordingTimeline, sliceTimeline } from '../src/clips/clips.replay.js';
import { mediaPlaylistsOf } from '../src/clips/clips.service.js';
import { buildLiveFfmpegArgs, liveHistoryPlaylist, liveListSize, parseLiveSegments, selectLiveLadder } from '../src/media/live.args.js';

const six = Array.from({ length: 5 }, () => ({ duration: 6 }));

describe('clip ranges', () => {
  it('takes every segment that overlaps the range, and says what it covers', () => {
    assert.deepEqual(coveringSegments(six, 2, 12), { first: 0, last: 1, start: 0, end: 12 });
    assert.deepEqual(coveringSegments(six, 6, 12), { first: 1, last: 1, start: 6, end: 12 });
    assert.deepEqual(coveringSegments(six, 11.9, 12.5), { first: 1, last: 2, start: 6, end: 18 });
    assert.deepEqual(coveringSegments(six, 0, 1000), { first: 0, last: 4, start: 0, end: 30 });
    assert.equal(coveringSegments(six, 30, 40), null);
    assert.equal(coveringSegments([], 0, 5), null);
  });

  it('writes a finished VOD playlist of the copied segments', () => {
    const text = clipMediaPlaylist([
      { uri: 'seg_00003.ts', duration: 6 },
      { uri: 'seg_00004.ts', duration: 4.5 },
    ]);
    assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.match(text, /#EXT-X-TARGETDURATION:6/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0/);
    assert.match(text, /seg_00003\.ts\n#EXTINF:4\.500000,\nseg_00004\.ts\n#EXT-X-ENDLIST\n$/);
  });

  it('finds the media playlists of a master, refusing odd URIs', () => {
    const master = '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="audio",URI="v2/index.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv1/index.m3u8\n';
    assert.deepEqual(mediaPlaylistsOf(master).sort(), ['v0/index.m3u8', 'v1/index.m3u8', 'v2/index.m3u8']);
    assert.throws(() => mediaPlaylistsOf('#EXTM3U\n../../secret.m3u8\n'));
    assert.throws(() => mediaPlaylistsOf('#EXTM3U\nhttps://elsewhere/x.m3u8\n'));
  });
});

describe('DVR playlists', () => {
  it('keeps the window in segments, never fewer than the sliding window', () => {
    assert.equal(liveListSize(6, 2, 0), 6);
    assert.equal(liveListSize(6, 2, 60), 30);
    assert.equal(liveListSize(6, 4, 10), 6);
    assert.equal(liveListSize(6, 2, 7200), 3600);
    const args = buildLiveFfmpegArgs({
      ladder: selectLiveLadder(640, 360, true, 2),
      outDir: '/tmp/x',
      segmentPrefix: 'p',
      listSize: 30,
      startNumber: 0,
      discontinuity: false,
      preset: 'superfast',
      recordingPath: null,
    });
    assert.equal(args[args.indexOf('-hls_list_size') + 1], '30');
    assert.match(args[args.indexOf('-hls_flags') + 1], /program_date_time/);
  });

  it('reads capture times of live segments and writes the history playlist', () => {
    const text =
      '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T10:00:00.000+0000\n#EXTINF:2.000000,\na_00004.ts\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T10:00:02.000+0000\n#EXTINF:2.000000,\na_00005.ts\n#EXTINF:1.5,\na_00006.ts\n';
    const segs = parseLiveSegments(text);
    assert.deepEqual(
      segs.map((s) => [s.uri, s.duration, s.at]),
      [
        ['a_00004.ts', 2, Date.parse('2026-01-01T10:00:00Z')],
        ['a_00005.ts', 2, Date.parse('2026-01-01T10:00:02Z')],
        ['a_00006.ts', 1.5, null],
      ],
    );
    const history = liveHistoryPlaylist(segs, 2);
    assert.match(history, /#EXT-X-PLAYLIST-TYPE:EVENT/);
    assert.deepEqual(
      parseLiveSegments(history).map((s) => s.uri),
      ['a_00004.ts', 'a_00005.ts', 'a_00006.ts'],
    );
    assert.doesNotMatch(history, /ENDLIST/);
  });
});

describe('chat replay timelines', () => {
  const t0 = Date.parse('2026-01-01T10:00:00Z');
  const iso = (ms: number) => new Date(t0 + ms).toISOString();

  it('lays recording parts end to end, skipping sessions without a part', () => {
    const pieces = recordingTimeline([
      { media_started_at: iso(0), media_seconds: 10, ended_at: iso(10_500), recording_key: 'a' },
      { media_started_at: iso(20_000), media_seconds: null, ended_at: null, recording_key: null },
      { media_started_at: iso(15_000), media_seconds: 5, ended_at: iso(20_100), recording_key: 'b' },
    ]);
    assert.deepEqual(pieces, [
      { offset: 0, wallStart: t0, wallEnd: t0 + 10_000 },
      { offset: 10, wallStart: t0 + 15_000, wallEnd: t0 + 20_000 },
    ]);
  });

  it('slices a timeline for a clip and moves it to start at 0', () => {
    const pieces = [
      { offset: 0, wallStart: t0, wallEnd: t0 + 10_000 },
      { offset: 10, wallStart: t0 + 15_000, wallEnd: t0 + 20_000 },
    ];
    assert.deepEqual(sliceTimeline(pieces, 6, 12), [
      { offset: 0, wallStart: t0 + 6000, wallEnd: t0 + 10_000 },
      { offset: 4, wallStart: t0 + 15_000, wallEnd: t0 + 17_000 },
    ]);
    assert.deepEqual(sliceTimeline(pieces, 20, 30), []);
  });
});
