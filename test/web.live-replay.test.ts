// Reusable live in a real browser: "Go live" makes one reusable stream with a DVR window, the
// dashboard keeps its RTMP URL and key across a reload and shows the ingest health of the real
// ffmpeg publish, the creator moderates the chat from it, the viewer rewinds on the seek bar and
// comes back with "Back to live", the creator ends the broadcast, and the recording's watch page
// replays the chat in time with the video.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startEncoder, type Encoder } from '../src/client/live.client.js';
import type { NovaClient, UserInfo } from '../src/client/nova-client.js';
import type { StreamIngestJson } from '../src/live/live.schemas.js';
import { axeViolations } from './helpers/axe.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { buildWebApp, chromiumSkipReason, launchBrowser, openPage, playMuted, screenshot, signInWithToken, videoState, waitFor, type TestPage } from './helpers/browser.js';
import { currentFfmpegSkipReason } from './helpers/media.js';

const skip = chromiumSkipReason() || currentFfmpegSkipReason();
const hookSecret = 'replay-hook-secret-0123456789';

describe('web app: reusable stream, DVR seek bar, chat replay', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let encoder: Encoder | null = null;
  let creator: TestPage;
  let viewer: TestPage;
  let creatorClient: NovaClient;
  let viewerClient: NovaClient;
  let viewerUser: UserInfo;

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir, LIVE_SEGMENT_SECONDS: '1', LIVE_RECONNECT_WINDOW_SECONDS: '2', LIVE_HOOK_SECRET: hookSecret });
    await t.client.newUser('admin');
    const c = await t.client.newUser('creator');
    const v = await t.client.newUser('viewer');
    creatorClient = c.client;
    viewerClient = v.client;
    viewerUser = v.user;
    browser = await launchBrowser();
    creator = await openPage(browser, t.url);
    viewer = await openPage(browser, t.url);
    // "End broadcast" asks to confirm; a dialog already answered (after navigation) needs nothing.
    creator.page.on('dialog', (d) => void d.accept().catch(() => {}));
    await signInWithToken(creator.page, c.client.token!, c.user);
    await signInWithToken(viewer.page, v.client.token!, v.user);
  });

  after(async () => {
    await encoder?.stop();
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('goes live on a reusable stream, rewinds and returns to live, and replays the chat beside the recording', async () => {
    const { page } = creator;
    await page.goto('/go-live');
    assert.equal(await page.getByLabel('Let viewers rewind up to 30 minutes while live').isChecked(), true);
    await page.getByLabel('Stream title').fill('Every Friday');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.waitForURL(/\/go-live\/[0-9a-f-]{36}$/);
    const streamId = page.url().split('/').pop()!;
    const rtmpUrl = await page.getByLabel('RTMP URL', { exact: true }).inputValue();
    const streamKey = await page.getByLabel('Stream key', { exact: true }).inputValue();
    await page.getByRole('button', { name: 'Show Stream key' }).click();
    assert.equal(await page.getByLabel('Stream key', { exact: true }).getAttribute('type'), 'text', 'revealed on request');

    encoder = startEncoder(rtmpUrl, streamKey, { width: 320, height: 180, fps: 15, seconds: 90 });
    await page.locator('.status-line .badge', { hasText: 'Live' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Delete stream' }).waitFor();

    // A reload keeps the RTMP URL (from the server) and the key (remembered by this browser, shown on request).
    await page.reload();
    await page.getByLabel('RTMP URL', { exact: true }).waitFor();
    assert.equal(await page.getByLabel('RTMP URL', { exact: true }).inputValue(), rtmpUrl);
    assert.equal(await page.getByLabel('Stream key', { exact: true }).getAttribute('type'), 'password', 'hidden again after the reload');
    await page.getByRole('button', { name: 'Show Stream key' }).click();
    assert.equal(await page.getByLabel('Stream key', { exact: true }).inputValue(), streamKey);

    // Ingest health, measured on what the encoder really sends (320×180 at 15 fps, with audio).
    const ingestPath = `/api/v1/streams/${streamId}/ingest`;
    const measured = await waitFor(
      'ingest health with a few seconds of frames',
      async () => {
        const r = await creatorClient.get<StreamIngestJson>(ingestPath);
        assert.equal(r.status, 200);
        const x = r.body.health;
        return x && x.frames_received >= 30 && x.fps > 0 && x.bitrate_kbps > 0 ? r.body : null;
      },
      90_000,
      1000,
    );
    const x = measured.health!;
    assert.equal(measured.rtmp_url, rtmpUrl);
    assert.deepEqual([x.width, x.height, x.audio], [320, 180, true], 'the resolution the test encoder sends');
    assert.ok(x.fps > 0 && x.fps <= 60, `frame rate ${x.fps} is plausible for a 15 fps encoder`);
    assert.ok(x.bitrate_kbps > 0 && x.bitrate_kbps < 20_000, `bitrate ${x.bitrate_kbps} kbps is plausible`);
    assert.ok(x.dropped_frames >= 0 && x.dropped_frames <= x.frames_received);
    assert.ok(x.late_frames >= 0 && x.late_frames <= x.frames_received);
    console.log(`# ingest health: ${x.bitrate_kbps} kbps, ${x.fps} fps, ${x.width}x${x.height}, ${x.frames_received} frames, ${x.dropped_frames} dropped, ${x.late_frames} late`);
    const other = await viewerClient.get<{ status: number; detail: string }>(ingestPath);
    assert.equal(other.status, 403, 'only the creator (or an admin) sees the ingest');
    assert.match(other.body.detail, /creator/);
    // The dashboard shows the same measurements and keeps refreshing them.
    const health = page.getByRole('region', { name: 'Ingest health' });
    await health.getByText('320×180').waitFor({ timeout: 30_000 });
    const statValue = (name: string) =>
      health
        .locator('.health-stats > div', { has: page.locator('dt', { hasText: name }) })
        .locator('dd')
        .textContent();
    assert.ok(Number.parseFloat((await statValue('Frame rate')) ?? '') > 0);
    assert.match((await statValue('Bitrate')) ?? '', /^[\d,.]+ kbps$/);
    assert.match((await statValue('Dropped frames')) ?? '', /^\d+$/);
    assert.match((await statValue('Late frames')) ?? '', /^\d+$/);
    await waitFor('the measurements to be refreshed', async () => (await creatorClient.get<StreamIngestJson>(ingestPath)).body.health!.frames_received > x.frames_received, 60_000, 1000);

    // The viewer plays, rewinds on the seek bar and comes back to live.
    const v = viewer.page;
    await v.goto(`/live/${streamId}`);
    await v.locator('.chat-state', { hasText: 'Connected' }).waitFor();
    await waitFor('live playback', async () => (await videoState(v)).currentTime > 1, 90_000, 500);
    assert.equal(await v.getByRole('slider', { name: 'Seek' }).isDisabled(), false, 'a DVR stream can be sought');
    await v.getByLabel('Chat message', { exact: true }).fill('remember this moment');
    await v.getByRole('button', { name: 'Send' }).click();
    await v.locator('.chat-list li', { hasText: 'remember this moment' }).waitFor();

    // The creator moderates from the dashboard, with the watch page's chat tools.
    const dashChat = page.getByRole('complementary', { name: 'Live chat' });
    await dashChat.locator('.chat-state', { hasText: 'Connected' }).waitFor();
    await v.getByLabel('Chat message', { exact: true }).fill('please delete me');
    await v.getByRole('button', { name: 'Send' }).click();
    const toDelete = dashChat.locator('.chat-list li', { hasText: 'please delete me' });
    await toDelete.getByRole('button', { name: `Delete message from ${viewerUser.username}` }).click();
    await v.locator('.chat-list li', { hasText: 'please delete me' }).waitFor({ state: 'detached' });
    await dashChat
      .locator('.chat-list li', { hasText: 'remember this moment' })
      .getByRole('button', { name: `Ban ${viewerUser.username}` })
      .click();
    await dashChat.getByText(`${viewerUser.username} is banned from this chat.`).waitFor();
    await v.getByLabel('Chat message', { exact: true }).fill('am I banned?');
    await v.getByRole('button', { name: 'Send' }).click();
    await v
      .locator('.chat-form [role="alert"]')
      .filter({ hasText: /banned/i })
      .waitFor();
    await screenshot(page, 'go-live-dashboard-live');
    assert.deepEqual(await axeViolations(page), []);
    await dashChat.locator('.bans summary', { hasText: 'Banned (1)' }).click();
    await dashChat.getByRole('button', { name: `Unban ${viewerUser.username}` }).click();
    await v.getByText('A moderator lifted your ban: you can chat again.').waitFor();
    await v.getByLabel('Chat message', { exact: true }).fill('back again');
    await v.getByRole('button', { name: 'Send' }).click();
    await dashChat.locator('.chat-list li', { hasText: 'back again' }).waitFor();
    await waitFor(
      '12 s of history to rewind over',
      async () => ((await v.evaluate('(() => { const x = document.querySelector("video"); return x.seekable.length ? x.seekable.end(0) - x.seekable.start(0) : 0; })()')) as number) > 12,
      90_000,
      500,
    );
    await v.evaluate('(() => { const x = document.querySelector("video"); x.currentTime = x.seekable.start(0) + 1; })()');
    const back = v.getByRole('button', { name: 'Back to live' });
    await back.waitFor();
    assert.match((await v.locator('.player .time').textContent()) ?? '', /^-\d+:\d\d$/);
    await screenshot(v, 'live-dvr-rewound');
    await back.click();
    await back.waitFor({ state: 'hidden' });
    assert.equal(await v.locator('.player .time').textContent(), 'LIVE');

    // The creator ends the broadcast: the stream is idle again, ready for the next one.
    await page.getByRole('button', { name: 'End broadcast' }).click();
    await page.locator('.status-line .badge', { hasText: 'Offline' }).waitFor({ timeout: 30_000 });
    await encoder.stop();
    encoder = null;

    // Its recording appears under "Broadcasts"; the watch page replays the chat with the video.
    const recording = page.getByRole('link', { name: 'Recording' });
    await waitFor(
      'the recording link',
      async () => {
        if (await recording.count()) return true;
        await page.reload();
        return false;
      },
      180_000,
      3000,
    );
    await recording.click();
    await page.waitForURL(/\/watch\/[0-9a-f-]{36}$/);
    const videoId = page.url().split('/').pop()!;
    await waitFor(
      'the recording to be ready',
      async () => {
        const r = await t.client.get<{ status: string }>(`/api/v1/videos/${videoId}`);
        return r.body.status === 'ready';
      },
      240_000,
      2000,
    );
    await page.reload();
    const replay = page.getByRole('complementary', { name: 'Chat replay' });
    await replay.waitFor({ timeout: 30_000 });
    assert.equal(await replay.locator('.chat-list li').count(), 0, 'nothing shown before its time');
    await playMuted(page);
    await replay.locator('.chat-list li', { hasText: 'remember this moment' }).waitFor({ timeout: 90_000 });
    await screenshot(page, 'chat-replay');

    // One reusable stream per creator: "Go live" now leads to its dashboard.
    await page.goto('/go-live');
    await page.getByRole('link', { name: 'Open stream dashboard' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create stream' }).count(), 0);

    // The creator rotates the key on the dashboard: a new key is shown and remembered, the old one is
    // refused at the RTMP handshake, and the publish check accepts only the new one.
    await page.goto(`/go-live/${streamId}`);
    await page.getByRole('button', { name: 'New stream key' }).click();
    await page.getByText('New stream key created. Update it in your encoder.').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Show Stream key' }).click();
    const newKey = await page.getByLabel('Stream key', { exact: true }).inputValue();
    assert.match(newKey, /^[A-Za-z0-9_-]{8,128}$/);
    assert.notEqual(newKey, streamKey, 'the dashboard shows a new key');
    await screenshot(page, 'go-live-key-rotated');
    await page.reload();
    await page.getByRole('button', { name: 'Show Stream key' }).click();
    assert.equal(await page.getByLabel('Stream key', { exact: true }).inputValue(), newKey, 'the new key is remembered across a reload');
    const stale = startEncoder(rtmpUrl, streamKey, { width: 320, height: 180, fps: 15, seconds: 5 });
    assert.notEqual(await stale.exited, 0, 'an encoder with the old key is refused');
    assert.match(stale.stderr(), /Publish refused/);
    const onPublish = (name: string) =>
      t.client
        .as(null)
        .request<{ stream_id?: string; detail?: string }>(
          'POST',
          `/api/v1/live/hooks/nginx-rtmp/on_publish?secret=${hookSecret}`,
          `app=live&name=${encodeURIComponent(name)}&call=publish&addr=10.0.0.9`,
          { 'content-type': 'application/x-www-form-urlencoded' },
        );
    const oldCheck = await onPublish(streamKey);
    assert.equal(oldCheck.status, 403);
    assert.match(oldCheck.body.detail ?? '', /unknown or revoked/);
    const newCheck = await onPublish(newKey);
    assert.equal(newCheck.status, 200, JSON.stringify(newCheck.body));
    assert.equal(newCheck.body.stream_id, streamId);
    assert.equal((await creatorClient.get<{ status: string }>(`/api/v1/streams/${streamId}`)).body.status, 'idle', 'rotating the key keeps the reusable stream');

    // Signing out forgets the remembered key in this browser.
    const remembered = () => page.evaluate<string[]>(`Object.keys(localStorage).filter((k) => k.includes('streamKeys')).map((k) => localStorage.getItem(k) ?? '')`);
    assert.ok(
      (await remembered()).some((v) => v.includes(newKey)),
      'the key is remembered while signed in',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await waitFor('the remembered key removed at sign-out', async () => (await remembered()).length === 0, 10_000);
  });
});
