// Signed playback of a private video, on local storage and on S3 (s3rver), with a real transcoded
// clip: ffprobe plays the signed manifest end to end; every playlist, segment and poster URL under
// it carries the token; without it, with an altered one or another video's, every media URL is
// 403 problem+json; S3 redirects are presigned for no longer than the token lives; and once the
// token's (shortened) lifetime has passed, every URL is 403.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { NovaClient } from '../src/client/nova-client.js';
import { getPlayback, updateVideo, waitForStatus, type Playback } from '../src/client/videos.client.js';
import { startTestNova, vodOf, type TestNova } from './helpers/nova.js';
import { startS3, type TestS3 } from './helpers/s3.js';
import { clip, createAndUpload, removeClips } from './helpers/vod.js';
import { insertReadyVideo } from './helpers/videos-db.js';
import { resolveMediaTools } from '../src/media/index.js';
import { currentFfmpegSkipReason } from './helpers/media.js';

const TTL_SECONDS = 20;

/** Every media URL a player reaches from the master playlist (playlists and segments), as given. */
async function walk(master: string): Promise<string[]> {
  const out = [master];
  const text = await (await fetch(master)).text();
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))) {
    const media = new URL(line, master).toString();
    out.push(media);
    const pl = await (await fetch(media)).text();
    for (const seg of pl.split('\n').map((l) => l.trim())) {
      if (seg && !seg.startsWith('#')) out.push(new URL(seg, media).toString());
      const map = /URI="([^"]+)"/.exec(seg);
      if (map) out.push(new URL(map[1], media).toString());
    }
  }
  return out;
}

function withToken(url: string, token: string | null): string {
  const u = new URL(url);
  if (token === null) u.searchParams.delete('token');
  else u.searchParams.set('token', token);
  return u.toString();
}

/** Runs ffprobe without blocking: the server under test answers it from this same process. */
function ffprobe(url: string): Promise<{ status: number; streams: string[] }> {
  return new Promise((resolve) => {
    execFile(resolveMediaTools().ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'json', url], { encoding: 'utf8', timeout: 60_000 }, (err, stdout) => {
      if (err) return resolve({ status: typeof err.code === 'number' ? err.code : -1, streams: [] });
      resolve({ status: 0, streams: (JSON.parse(stdout).streams as Array<{ codec_type: string }>).map((s) => s.codec_type) });
    });
  });
}

async function expect403(url: string, label: string, detail?: RegExp): Promise<void> {
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 403, `${label}: ${url}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await res.json()) as { detail: string };
  if (detail) assert.match(body.detail, detail);
}

for (const storage of ['local', 's3'] as const) {
  describe(`signed playback of a private video (${storage} storage)`, () => {
    let t: TestNova;
    let s3: TestS3 | null = null;
    let owner: NovaClient;
    let videoId: string;
    let playback: Playback;
    let urls: string[];

    before(async () => {
      if (storage === 's3') s3 = await startS3();
      t = await startTestNova({ PLAYBACK_TOKEN_TTL_SECONDS: String(TTL_SECONDS), ...(s3 ? { ...s3.env, UPLOAD_STORE: 'file' } : {}) });
      owner = (await t.client.newUser('owner')).client;
      const file = await clip('signed.mp4', { width: 320, height: 240, seconds: 3 });
      const created = await createAndUpload(owner, file, 'private clip');
      videoId = created.video.id;
      await waitForStatus(owner, videoId, ['ready']);
      assert.equal((await updateVideo(owner, videoId, { visibility: 'private' })).status, 200);
      const pb = await getPlayback(owner, videoId);
      assert.equal(pb.status, 200);
      playback = pb.body;
      urls = await walk(playback.manifest_url);
    });
    after(async () => {
      await t?.stop();
      await s3?.stop();
      removeClips();
    });

    it('signs every URL and plays in ffprobe', async () => {
      const token = new URL(playback.manifest_url).searchParams.get('token');
      assert.ok(token, playback.manifest_url);
      assert.ok(playback.expires_at && Date.parse(playback.expires_at) > Date.now());
      assert.ok(Date.parse(playback.expires_at) - Date.now() <= TTL_SECONDS * 1000 + 1000);
      assert.ok(urls.length >= 3, urls.join('\n'));
      for (const u of [...urls, playback.thumbnail_url!, ...playback.renditions.map((r) => r.playlist_url)]) {
        assert.equal(new URL(u).searchParams.get('token'), token, `carries the token: ${u}`);
        const res = await fetch(u);
        assert.equal(res.status, 200, u);
        await res.arrayBuffer();
      }
      // The npm-bundled ffprobe crashes on stream queries: without a current one this part skips (outside CI).
      if (!currentFfmpegSkipReason()) {
        const probe = await ffprobe(playback.manifest_url);
        assert.equal(probe.status, 0);
        assert.ok(probe.streams.includes('video'), JSON.stringify(probe.streams));
      }
    });

    it("refuses a missing, altered or other video's token with 403 on every media URL", async () => {
      const token = new URL(playback.manifest_url).searchParams.get('token')!;
      const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      const laterExpiry = token.replace(/^(\d+)/, (m) => String(Number(m) + 3600));
      const otherId = await insertReadyVideo(t, (await owner.get<{ id: string }>('/api/v1/me')).body.id, 'another private');
      assert.equal((await updateVideo(owner, otherId, { visibility: 'private' })).status, 200);
      const otherToken = await vodOf(t.nova).tokens.sign(otherId);
      for (const u of [...urls, playback.thumbnail_url!]) {
        await expect403(withToken(u, null), 'no token', /private/);
        await expect403(withToken(u, altered), 'altered token', /not valid/);
        await expect403(withToken(u, laterExpiry), 'extended expiry', /not valid/);
        await expect403(withToken(u, otherToken), "another video's token", /not valid/);
      }
      assert.notEqual((await ffprobe(withToken(playback.manifest_url, null))).status, 0);
    });

    if (storage === 's3') {
      it('presigns S3 redirects for no longer than the token lives', async () => {
        const segment = urls.find((u) => !new URL(u).pathname.endsWith('.m3u8'))!;
        const res = await fetch(segment, { redirect: 'manual' });
        assert.equal(res.status, 302);
        const location = new URL(res.headers.get('location')!);
        const expires = Number(location.searchParams.get('X-Amz-Expires'));
        const left = (Date.parse(playback.expires_at!) - Date.now()) / 1000;
        assert.ok(expires >= 1 && expires <= Math.ceil(left) + 1, `presigned for ${expires} s, token has ${left} s left`);
      });
    }

    it('refuses every URL once the token has expired', async () => {
      const wait = Date.parse(playback.expires_at!) - Date.now() + 1500;
      if (wait > 0) await sleep(wait);
      for (const u of urls) await expect403(u, 'expired', /expired/);
      assert.notEqual((await ffprobe(playback.manifest_url)).status, 0);
      // A fresh playback URL works again.
      const again = await getPlayback(owner, videoId);
      assert.equal((await fetch(again.body.manifest_url)).status, 200);
    });
  });
}
