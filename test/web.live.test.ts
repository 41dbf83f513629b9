// Live in a real browser: the creator makes a stream on "Go live", ffmpeg publishes to the RTMP
// URL and key the page shows, and two browser contexts chat on the live watch page. A message with
// markup shows as text and runs nothing; the creator's moderation reaches the viewer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startEncoder, type Encoder } from '../src/client/live.client.js';
import type { UserInfo } from '../src/client/nova-client.js';
import { currentFfmpegSkipReason } from './helpers/media.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { buildWebApp, chromiumSkipReason, horizontalOverflow, launchBrowser, openPage, screenshot, signInWithToken, videoState, waitFor, type TestPage } from './helpers/browser.js';

const skip = chromiumSkipReason() || currentFfmpegSkipReason();
const XSS = '<img src=x onerror=alert(1)>';

describe('web app: go live and chat in two browsers', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let encoder: Encoder | null = null;
  let creator: TestPage;
  let viewer: TestPage;
  let creatorUser: UserInfo;
  let viewerUser: UserInfo;
  let streamId = '';

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir, LIVE_SEGMENT_SECONDS: '1', LIVE_RECORD: 'false' });
    await t.client.newUser('admin'); // the first account is the admin: the creator is a plain user
    const c = await t.client.newUser('creator');
    const v = await t.client.newUser('viewer');
    creatorUser = c.user;
    viewerUser = v.user;
    browser = await launchBrowser();
    creator = await openPage(browser, t.url);
    await creator.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    viewer = await openPage(browser, t.url, { viewport: { width: 390, height: 844 }, isMobile: true });
    await signInWithToken(creator.page, c.client.token!, creatorUser);
    await signInWithToken(viewer.page, v.client.token!, viewerUser);
  });

  after(async () => {
    await encoder?.stop();
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('creates a stream on "Go live" and shows its RTMP URL and key, which an encoder uses to go live', async () => {
    const { page } = creator;
    await page.getByRole('link', { name: 'Go live' }).click();
    await page.getByLabel('Stream title').fill('Friday <i>live</i>');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.waitForURL(/\/go-live\/[0-9a-f-]{36}$/);
    streamId = page.url().split('/').pop()!;

    const rtmpUrl = await page.getByLabel('RTMP URL', { exact: true }).inputValue();
    const key = page.getByLabel('Stream key', { exact: true });
    assert.match(rtmpUrl, /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    assert.equal(await key.getAttribute('type'), 'password', 'the key is hidden until asked for');
    const streamKey = await key.inputValue();
    assert.ok(streamKey.length >= 32);

    await page.getByRole('button', { name: 'Copy RTMP URL' }).click();
    await page.getByText('Copied').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), rtmpUrl);
    await page.getByText('How to stream with OBS Studio').click();
    await page.getByText('keyframe interval 2 s').waitFor();

    encoder = startEncoder(rtmpUrl, streamKey, { width: 320, height: 180, fps: 15, seconds: 120 });
    await page.locator('.status-line .badge', { hasText: 'Live' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'go-live');
  });

  it('two contexts on the live watch page: the video plays and messages go both ways as text', async () => {
    await creator.page.goto(`/live/${streamId}`);
    // The viewer finds the stream under "Live now" on Discover.
    await viewer.page.goto('/');
    await viewer.page.getByRole('region', { name: 'Live now' }).getByRole('link', { name: 'Friday <i>live</i>' }).click();
    await viewer.page.waitForURL(`**/live/${streamId}`);
    for (const p of [creator.page, viewer.page]) {
      await p.getByRole('heading', { level: 1, name: 'Friday <i>live</i>' }).waitFor();
      await p.locator('.chat-state', { hasText: 'Connected' }).waitFor();
    }

    await waitFor('live playback in the viewer', async () => (await videoState(viewer.page)).currentTime > 1, 90_000, 500);

    await creator.page.getByLabel('Chat message', { exact: true }).fill('hello from the creator');
    await creator.page.getByLabel('Chat message', { exact: true }).press('Enter');
    await viewer.page.locator('.chat-list li', { hasText: 'hello from the creator' }).waitFor();

    await viewer.page.getByLabel('Chat message', { exact: true }).fill(XSS);
    await viewer.page.getByRole('button', { name: 'Send' }).click();
    const inCreator = creator.page.locator('.chat-list li', { hasText: XSS });
    await inCreator.waitFor();
    assert.equal(await inCreator.locator('.text').textContent(), XSS, 'shown exactly as typed');
    assert.equal(await inCreator.locator('.who').textContent(), viewerUser.username);
    for (const p of [creator, viewer]) {
      assert.equal(await p.page.locator('.chat img, main img[src="x"]').count(), 0, 'no element was made from the message');
      assert.deepEqual(p.dialogs, [], 'no script ran');
    }
    assert.ok((await horizontalOverflow(viewer.page)) <= 0, 'the phone layout does not scroll sideways');
    await screenshot(creator.page, 'live-watch-creator');
    await screenshot(viewer.page, 'live-watch-viewer-phone');
  });

  it('shows send errors inline, and the creator can delete, ban and set slow mode', async () => {
    const { page } = viewer;
    // A blank message is refused before it is sent.
    await page.getByLabel('Chat message', { exact: true }).fill('   ');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.chat-form [role="alert"]', { hasText: 'Type a message first.' }).waitFor();

    const creatorPage = creator.page;
    await creatorPage.getByLabel('Slow mode').selectOption('30');
    await page.getByText('Slow mode: one message every 30 s.').waitFor();
    await page.getByLabel('Chat message', { exact: true }).fill('first under slow mode');
    await page.getByLabel('Chat message', { exact: true }).press('Enter');
    await creatorPage.locator('.chat-list li', { hasText: 'first under slow mode' }).waitFor();
    await page.getByLabel('Chat message', { exact: true }).fill('second too soon');
    await page.getByLabel('Chat message', { exact: true }).press('Enter');
    await page.locator('.chat-form [role="alert"]').filter({ hasText: /slow/i }).waitFor();
    assert.equal(await page.getByLabel('Chat message', { exact: true }).inputValue(), 'second too soon', 'the refused text is given back');
    await creatorPage.getByLabel('Slow mode').selectOption('0');
    await page.getByText('Slow mode: one message every 30 s.').waitFor({ state: 'detached' });

    // Delete the markup message: it disappears for the viewer too.
    await creatorPage
      .getByRole('button', { name: `Delete message from ${viewerUser.username}` })
      .first()
      .click();
    await page.locator('.chat-list li', { hasText: XSS }).waitFor({ state: 'detached' });

    await creatorPage
      .getByRole('button', { name: `Ban ${viewerUser.username}` })
      .first()
      .click();
    await creatorPage.getByText(`${viewerUser.username} is banned from this chat.`).waitFor();
    await creatorPage.locator('.bans summary', { hasText: 'Banned (1)' }).waitFor();
    await page.getByLabel('Chat message', { exact: true }).fill('am I banned?');
    await page.getByLabel('Chat message', { exact: true }).press('Enter');
    await page
      .locator('.chat-form [role="alert"]')
      .filter({ hasText: /banned/i })
      .waitFor();
    await screenshot(page, 'live-chat-banned-phone');
    await screenshot(creatorPage, 'live-chat-moderation');
    assert.deepEqual(creator.errors, []);
    assert.deepEqual(viewer.errors, []);
  });
});
