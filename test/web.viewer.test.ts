// The web app as creators and viewers live in it, in a real browser against a real Nova: uploads
// that keep going while the user browses (two at once, with the header indicator and a "leave page?"
// question), the watch page (uploader's channel, share at a time, keyboard, embed page, layout at
// 1280×800 and on a phone), and accessibility (axe-core, skip link, alt text, mobile navigation).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Route } from 'playwright-core';
import type { UserInfo } from '../src/client/nova-client.js';
import { makeClip } from './fixtures/clips.js';
import { axeViolations } from './helpers/axe.js';
import { buildWebApp, chromiumSkipReason, horizontalOverflow, launchBrowser, openPage, playMuted, screenshot, signInWithToken, videoState, waitFor, type TestPage } from './helpers/browser.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createAndUpload } from './helpers/vod.js';

const skip = chromiumSkipReason();
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe('web app: background uploads, the watch page, embed and accessibility', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let clipDir: string;
  let clipA: string;
  let clipB: string;
  let long: string;
  let creator: TestPage;
  let creatorUser: UserInfo;
  let creatorToken: string;
  let viewer: TestPage;
  let viewerUser: UserInfo;
  let viewerToken: string;
  /** A ready video of the creator's, 12 s long, uploaded through the API. */
  let videoId = '';
  let otherId = '';

  const videoStatus = async (id: string) => (await t.client.as(creatorToken).get<{ status: string }>(`/api/v1/videos/${id}`)).body.status;

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir });
    clipDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-web-viewer-'));
    clipA = await makeClip({ width: 320, height: 240, seconds: 3, fps: 24 }, path.join(clipDir, 'beach-day.mp4'));
    clipB = await makeClip({ width: 320, height: 240, seconds: 3, fps: 24 }, path.join(clipDir, 'mountain_walk.mp4'));
    long = await makeClip({ width: 320, height: 240, seconds: 12, fps: 24 }, path.join(clipDir, 'long.mp4'));
    await t.client.newUser('admin'); // the first account is the admin: the others are plain users
    const c = await t.client.newUser('maker');
    const v = await t.client.newUser('watcher');
    creatorUser = c.user;
    creatorToken = c.client.token!;
    viewerUser = v.user;
    viewerToken = v.client.token!;
    videoId = (await createAndUpload(c.client, long, 'Sunset over the bay')).video.id;
    otherId = (await createAndUpload(c.client, clipA, 'Morning swim')).video.id;
    browser = await launchBrowser();
    creator = await openPage(browser, t.url, { viewport: DESKTOP });
    viewer = await openPage(browser, t.url, { viewport: DESKTOP });
    await viewer.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    await signInWithToken(creator.page, creatorToken, creatorUser);
    await signInWithToken(viewer.page, viewerToken, viewerUser);
    await waitFor('the API-uploaded videos to be ready', async () => (await videoStatus(videoId)) === 'ready' && (await videoStatus(otherId)) === 'ready', 240_000, 500);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
    if (clipDir) fs.rmSync(clipDir, { recursive: true, force: true });
  });

  it('two uploads started on Upload keep going while the user browses Discover and a watch page, then finish', async () => {
    const { page, errors, dialogs } = creator;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upload' }).click();
    await page.getByRole('heading', { level: 1, name: 'Upload videos' }).waitFor();
    // The data requests are held, like a slow network, so the uploads are caught mid-way.
    const held: Route[] = [];
    let holding = true;
    await page.route('**/api/v1/uploads/**', (route) => {
      if (holding && route.request().method() === 'PATCH') held.push(route);
      else void route.continue();
    });
    await page.getByLabel('Video file').setInputFiles([clipA, clipB]);
    await page.getByText('2 files: each is titled after its file name').waitFor();
    await page.getByRole('button', { name: 'Upload 2 videos' }).click();
    await waitFor('both uploads sending at once', async () => held.length >= 2, 60_000).catch(async (err: Error) => {
      await screenshot(page, 'upload-two-files-failed');
      throw new Error(`${err.message}; held ${held.length}; errors: ${errors.join(' | ')}; page: ${await page.locator('main').innerText()}`);
    });
    const cards = page.locator('.upload-job');
    assert.equal(await cards.count(), 2);
    assert.deepEqual((await cards.locator('h2').allTextContents()).sort(), ['beach day', 'mountain walk']);
    const hrefs = await cards.getByRole('link', { name: 'Open watch page' }).evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    const ids = hrefs.map((h) => h.split('/').pop()!);

    // Details can be changed while the file is on its way.
    const first = cards.filter({ hasText: 'beach day' });
    await first.getByText('Edit title, description, tags, visibility').click();
    const form = page.getByRole('form', { name: 'Details of beach day' });
    await form.getByLabel('Title').fill('Beach day, edited while uploading');
    await form.getByLabel('Tags').fill('sea, summer');
    await form.getByLabel('Visibility').selectOption('unlisted');
    await form.getByRole('button', { name: 'Save details' }).click();
    await form.getByText('Saved.').waitFor();
    await screenshot(page, 'upload-two-files');

    // The header shows the uploads from every page; closing the tab asks first.
    const indicator = page.locator('header .upload-indicator');
    await indicator.filter({ hasText: 'Uploading 2' }).waitFor();
    await page.close({ runBeforeUnload: true });
    await waitFor('the leave-page question', async () => dialogs.some((d) => d.startsWith('beforeunload')));
    assert.equal(page.isClosed(), false, 'staying was chosen, the page is still open');

    await page.getByRole('link', { name: 'Discover' }).click();
    await page.getByRole('region', { name: 'Latest' }).waitFor();
    await indicator.filter({ hasText: 'Uploading 2' }).waitFor();
    await page
      .getByRole('region', { name: 'Latest' })
      .getByRole('link', { name: /Sunset over the bay/ })
      .first()
      .click();
    await page.waitForURL(`**/watch/${videoId}`);
    await indicator.filter({ hasText: 'Uploading 2' }).waitFor();
    await screenshot(page, 'upload-in-header-watch');

    // The network comes back while the user is on the watch page: both uploads finish there.
    holding = false;
    for (const r of held.splice(0)) await r.continue();
    await page.unroute('**/api/v1/uploads/**');
    await indicator.waitFor({ state: 'hidden', timeout: 60_000 });
    for (const id of ids) {
      await waitFor(`video ${id} uploaded and processed`, async () => (await videoStatus(id)) === 'ready', 240_000, 500);
    }
    const titles = await Promise.all(ids.map(async (id) => (await t.client.as(creatorToken).get<{ title: string; visibility: string }>(`/api/v1/videos/${id}`)).body));
    assert.deepEqual(titles.map((v) => `${v.title} (${v.visibility})`).sort(), ['Beach day, edited while uploading (unlisted)', 'mountain walk (public)']);

    // Back on Upload, the finished uploads say so, and nothing offers to "resume" them.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upload' }).click();
    await waitFor('both uploads shown as ready', async () => (await page.getByText('Your video is ready.').count()) === 2, 120_000);
    assert.equal(await page.getByText(/Resume/).count(), 0, 'no stale resume text');
    assert.equal(await page.locator('.pending li').count(), 0);
    await screenshot(page, 'upload-two-done');
    assert.deepEqual(errors, []);
  });

  it('the watch page: uploader links to the channel, title above the fold, keyboard shortcuts, more from the creator', async () => {
    const { page, errors } = viewer;
    await page.goto(`/watch/${videoId}`);
    const heading = page.getByRole('heading', { level: 1, name: 'Sunset over the bay' });
    await heading.waitFor();
    await page.locator('video').waitFor();
    const box = (await heading.boundingBox())!;
    assert.ok(box.y + box.height <= DESKTOP.height, `the title is above the fold (bottom at ${box.y + box.height}px)`);

    // Keyboard: space plays and pauses, m mutes, → seeks; typed into no field.
    await heading.click();
    await page.keyboard.press('m');
    await waitFor('muted by m', async () => (await page.evaluate('document.querySelector("video").muted')) === true);
    await page.keyboard.press('Space');
    await waitFor(
      'playing after Space',
      async () => {
        const s = await videoState(page);
        return !s.paused && s.currentTime > 0.5;
      },
      60_000,
    );
    await page.keyboard.press('Space');
    await waitFor('paused after Space', async () => (await videoState(page)).paused);
    const before = (await videoState(page)).currentTime;
    await page.keyboard.press('ArrowRight');
    await waitFor('5 s further after →', async () => (await videoState(page)).currentTime >= Math.min(before + 4.5, 11));
    await page.keyboard.press('k');
    await waitFor('playing after k', async () => !(await videoState(page)).paused);
    await page.keyboard.press('k');
    await waitFor('paused after k', async () => (await videoState(page)).paused);

    const more = page.getByRole('region', { name: `More from ${creatorUser.username}` });
    await more.getByRole('link', { name: /Morning swim/ }).waitFor();
    assert.equal(await more.locator('article', { hasText: 'Morning swim' }).locator('img').getAttribute('alt'), 'Morning swim', "a thumbnail's alt text is its title");
    await screenshot(page, 'watch-viewer');

    // The uploader's name leads to the channel; the follow button works from the watch page.
    const uploader = page.locator('.uploader');
    await uploader.getByRole('button', { name: 'Follow' }).click();
    await uploader.getByRole('button', { name: 'Following' }).waitFor();
    await uploader.getByText('1 follower').waitFor();
    await uploader.getByRole('link', { name: creatorUser.username }).click();
    await page.waitForURL(`**/u/${creatorUser.username}`);
    await page.getByRole('heading', { level: 1, name: creatorUser.username }).waitFor();
    await page.getByRole('button', { name: 'Following' }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('share copies a link that opens the video at the chosen time; embed code names the embed page', async () => {
    const { page, errors } = viewer;
    await page.goto(`/watch/${videoId}`);
    await page.locator('video').waitFor();
    await playMuted(page);
    await waitFor('3 s played', async () => (await videoState(page)).currentTime >= 3, 60_000);
    await page.evaluate('document.querySelector("video").pause()');
    const at = Math.floor((await videoState(page)).currentTime);

    await page.getByRole('button', { name: 'Share' }).click();
    const share = page.getByRole('group', { name: 'Share' });
    await share.getByLabel(/^Start at /).check();
    await share.getByRole('button', { name: 'Copy Link' }).click();
    await share.getByText('Copied').first().waitFor();
    const link = (await page.evaluate('navigator.clipboard.readText()')) as string;
    assert.equal(link, `${t.url}/watch/${videoId}?t=${at}`);
    const embedCode = await share.getByRole('textbox', { name: 'Embed code' }).inputValue();
    assert.match(embedCode, new RegExp(`^<iframe src="${t.url}/embed/${videoId}" title="Sunset over the bay"`));
    await screenshot(page, 'watch-share');

    // Someone opens the shared link: the video waits at that moment.
    const friend = await openPage(browser, t.url, { viewport: DESKTOP });
    await friend.page.goto(link);
    await friend.page.locator('video').waitFor();
    await waitFor(`the video at ${at} s`, async () => Math.abs((await videoState(friend.page)).currentTime - at) < 1, 60_000);
    assert.deepEqual(friend.errors, []);
    await friend.context.close();
    assert.deepEqual(errors, []);
  });

  it('the embed page plays the video alone, and only it may be framed by other sites', async () => {
    const embed = await openPage(browser, t.url, { viewport: { width: 640, height: 400 } });
    await embed.page.goto(`/embed/${videoId}`);
    await embed.page.locator('video').waitFor();
    assert.equal(await embed.page.locator('header, nav').count(), 0, 'no app header or navigation');
    assert.equal(await embed.page.getByRole('link', { name: 'Sunset over the bay' }).getAttribute('href'), `${t.url}/watch/${videoId}`);
    await playMuted(embed.page);
    await waitFor('the embedded video to play', async () => (await videoState(embed.page)).currentTime > 1, 60_000);
    assert.equal((await videoState(embed.page)).error, null);
    await embed.page.evaluate('document.querySelector("video").pause()');
    await screenshot(embed.page, 'embed');
    assert.deepEqual(await axeViolations(embed.page), []);
    assert.deepEqual(embed.errors, []);

    // The embed page from another origin's iframe: it loads there (the app's pages refuse to).
    // Another origin: a small page server on another port, whose page frames the player.
    const blog = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html lang="en"><title>A blog</title><iframe src="${t.url}/embed/${videoId}" width="640" height="360" title="player"></iframe></html>`);
    });
    await new Promise<void>((resolve) => blog.listen(0, '127.0.0.1', resolve));
    const host = await embed.context.newPage();
    await host.goto(`http://127.0.0.1:${(blog.address() as AddressInfo).port}/a-blog-post`);
    const frame = host.frameLocator('iframe');
    await frame.locator('video').waitFor();
    blog.close();
    const csp = async (p: string) => (await fetch(`${t.url}${p}`, { headers: { accept: 'text/html' } })).headers.get('content-security-policy') ?? '';
    assert.match(await csp(`/embed/${videoId}`), /frame-ancestors \*/);
    assert.match(await csp(`/watch/${videoId}`), /frame-ancestors 'none'/);
    const missing = await openPage(browser, t.url);
    await missing.page.goto('/embed/00000000-0000-4000-8000-000000000000');
    await missing.page.getByText('This video is not available.').waitFor();
    await embed.context.close();
    await missing.context.close();
  });

  it('on a phone: player controls at least 44 px tall, navigation never cut off, no sideways scroll', async () => {
    const phone = await openPage(browser, t.url, { viewport: PHONE, isMobile: true });
    await signInWithToken(phone.page, viewerToken, viewerUser);
    for (const link of await phone.page.locator('nav.nav a').all()) {
      const b = (await link.boundingBox())!;
      assert.ok(b.x >= 0 && b.x + b.width <= PHONE.width, `"${await link.textContent()}" is fully in view (${b.x}–${b.x + b.width})`);
    }
    await phone.page.goto(`/watch/${videoId}`);
    await phone.page.getByRole('heading', { level: 1, name: 'Sunset over the bay' }).waitFor();
    await phone.page.locator('.controls').waitFor();
    for (const ctl of await phone.page.locator('.controls button:visible, .controls input:visible, .controls select:visible').all()) {
      const b = (await ctl.boundingBox())!;
      assert.ok(b.height >= 44, `${(await ctl.getAttribute('aria-label')) ?? 'a control'} is ${b.height}px tall`);
    }
    assert.ok((await horizontalOverflow(phone.page)) <= 0);
    await screenshot(phone.page, 'watch-viewer-phone');
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  });

  it('accessibility: the skip link comes first, and axe finds nothing serious on home, watch, upload, go-live and channel', async () => {
    for (const [name, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      const tp = await openPage(browser, t.url, { viewport, isMobile: name === 'phone' });
      await signInWithToken(tp.page, creatorToken, creatorUser);
      await tp.page.goto('/');
      await tp.page.keyboard.press('Tab');
      assert.equal(await tp.page.evaluate('document.activeElement.textContent'), 'Skip to content', 'the first Tab reaches the skip link');
      const pages: Array<[string, string, () => Promise<unknown>]> = [
        ['home', '/', () => tp.page.getByRole('region', { name: 'Latest' }).locator('article').first().waitFor()],
        ['watch', `/watch/${videoId}`, () => tp.page.locator('.controls').waitFor()],
        ['upload', '/upload', () => tp.page.getByLabel('Video file').waitFor()],
        ['go-live', '/go-live', () => tp.page.getByRole('heading', { level: 1 }).waitFor()],
        ['channel', `/u/${creatorUser.username}`, () => tp.page.locator('[aria-label="Videos"] article').first().waitFor()],
      ];
      for (const [label, url, ready] of pages) {
        await tp.page.goto(url);
        await ready();
        const found = await axeViolations(tp.page);
        assert.deepEqual(found, [], `${label} (${name}): ${JSON.stringify(found)}`);
      }
      await screenshot(tp.page, `channel-${name}`);
      assert.deepEqual(tp.errors, []);
      await tp.context.close();
    }
  });
});
