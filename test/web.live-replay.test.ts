// Reusable live in a real browser: "Go live" makes one reusable stream with a DVR window, the
// viewer rewinds on the seek bar and comes back with "Back to live", the creator ends the broadcast,
// and the recording's watch page replays the chat in time with the video.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startEncoder, type Encoder } from '../src/client/live.client.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { buildWebApp, chromiumSkipReason, launchBrowser, openPage, playMuted, screenshot, signInWithToken, videoState, waitFor, type TestPage } from './helpers/browser.js';
import { currentFfmpegSkipReason } from './helpers/media.js';

const skip = chromiumSkipReason() || currentFfmpegSkipReason();

describe('web app: reusable stream, DVR seek bar, chat replay', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let encoder: Encoder | null = null;
  let creator: TestPage;
  let viewer: TestPage;

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir, LIVE_SEGMENT_SECONDS: '1', LIVE_RECONNECT_WINDOW_SECONDS: '2' });
    await t.client.newUser('admin');
    const c = await t.client.newUser('creator');
    const v = await t.client.newUser('viewer');
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

    // The viewer plays, rewinds on the seek bar and comes back to live.
    const v = viewer.page;
    await v.goto(`/live/${streamId}`);
    await v.locator('.chat-state', { hasText: 'Connected' }).waitFor();
    await waitFor('live playback', async () => (await videoState(v)).currentTime > 1, 90_000, 500);
    assert.equal(await v.getByRole('slider', { name: 'Seek' }).isDisabled(), false, 'a DVR stream can be sought');
    await v.getByLabel('Chat message', { exact: true }).fill('remember this moment');
    await v.getByRole('button', { name: 'Send' }).click();
    await v.locator('.chat-list li', { hasText: 'remember this moment' }).waitFor();
    await waitFor('12 s of history to rewind over', async () => (await v.evaluate('(() => { const x = document.querySelector("video"); return x.seekable.length ? x.seekable.end(0) - x.seekable.start(0) : 0; })()')) as number > 12, 90_000, 500);
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
    await waitFor('the recording link', async () => {
      if (await recording.count()) return true;
      await page.reload();
      return false;
    }, 180_000, 3000);
    await recording.click();
    await page.waitForURL(/\/watch\/[0-9a-f-]{36}$/);
    const videoId = page.url().split('/').pop()!;
    await waitFor('the recording to be ready', async () => {
      const r = await t.client.get<{ status: string }>(`/api/v1/videos/${videoId}`);
      return r.body.status === 'ready';
    }, 240_000, 2000);
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
  });
});
