// The web app in a real browser (Debian's Chromium via playwright-core) against a real Nova:
// sign up → upload a generated clip through the page (tus) → upload and processing bars reach
// 100 % → the watch page plays it; a paused upload survives a page reload; screenshots of pages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { makeClip } from './fixtures/clips.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import {
  buildWebApp,
  chromiumSkipReason,
  horizontalOverflow,
  launchBrowser,
  openPage,
  pageSession,
  playMuted,
  screenshot,
  signInWithToken,
  signUpInPage,
  videoState,
  waitFor,
  type TestPage,
} from './helpers/browser.js';

const skip = chromiumSkipReason();

describe('web app: upload and watch in a browser', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let clipDir: string;
  let clip: string;
  let tp: TestPage;
  const username = `alice_${Math.random().toString(36).slice(2, 8)}`;
  // A title that would be markup if the page used innerHTML.
  const title = 'Clip <b>one</b> & "two"';
  let videoId = '';

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir });
    clipDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-web-clip-'));
    // 640x480: the 480p and 360p tiers, so the quality menu has a choice.
    clip = await makeClip({ width: 640, height: 480, seconds: 5, fps: 24 }, path.join(clipDir, 'my-holiday.mp4'));
    browser = await launchBrowser();
    tp = await openPage(browser, t.url);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
    if (clipDir) fs.rmSync(clipDir, { recursive: true, force: true });
  });

  it('signs up through the form', async () => {
    const { page } = tp;
    await page.goto('/signup');
    await page.getByLabel('Username').fill('x');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('alert').filter({ hasText: '3–32' }).waitFor();
    await screenshot(page, 'signup-error');
    await signUpInPage(page, username);
    assert.equal(new URL(page.url()).pathname, '/');
    await screenshot(page, 'discover-empty');
  });

  it('uploads a clip through the page and follows processing to 100 %', async () => {
    const { page } = tp;
    await page.goto('/upload');
    await page.getByLabel('Video file').setInputFiles(clip);
    assert.equal(await page.getByLabel('Title').inputValue(), 'my holiday', 'the title is suggested from the file name');
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Upload' }).click();

    const uploadBar = page.getByRole('progressbar', { name: 'Upload' });
    await waitFor('upload bar at 100 %', async () => (await uploadBar.getAttribute('aria-valuenow')) === '100', 60_000);

    // Processing progress arrives over SSE; record what the bar shows until it reaches 100.
    const bar = page.getByRole('progressbar', { name: 'Processing' });
    const seen: number[] = [];
    await waitFor(
      'processing bar at 100 %',
      async () => {
        const v = Number(await bar.getAttribute('aria-valuenow'));
        if (seen[seen.length - 1] !== v) seen.push(v);
        return v === 100;
      },
      180_000,
      100,
    );
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      seen,
      `the bar never goes backwards: ${seen.join(', ')}`,
    );
    await page.getByText('Your video is ready.').waitFor();
    assert.equal(await page.locator('.stages li.done').count(), 8, 'every stage is ticked');
    await screenshot(page, 'upload-done');

    const href = await page.getByRole('link', { name: 'Watch now' }).getAttribute('href');
    videoId = href!.split('/').pop()!;
    const res = await t.client.get<{ status: string; title: string }>(`/api/v1/videos/${videoId}`);
    assert.equal(res.body.status, 'ready');
    assert.equal(res.body.title, title);
  });

  it('plays the video on the watch page, with quality menu, views and likes', async () => {
    const { page, errors, dialogs } = tp;
    await page.getByRole('link', { name: 'Watch now' }).click();
    await page.waitForURL(`**/watch/${videoId}`);
    // The title is text: the heading shows the angle brackets and no <b> element exists.
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
    assert.equal(await page.locator('h1 b').count(), 0);

    const quality = page.getByLabel('Quality');
    await waitFor('quality menu lists the renditions', async () => (await quality.locator('option').count()) >= 3);
    const options = await quality.locator('option').allTextContents();
    assert.ok(options.some((o) => o.startsWith('480p')) && options.some((o) => o.startsWith('360p')), options.join(' | '));

    await playMuted(page);
    await waitFor('the video to play', async () => (await videoState(page)).currentTime > 1, 60_000);
    assert.equal((await videoState(page)).error, null);

    // Switching quality by hand keeps playing.
    await quality.selectOption({ label: options.find((o) => o.startsWith('360p'))! });
    const t0 = (await videoState(page)).currentTime;
    await waitFor(
      'playback after a quality switch',
      async () => {
        const s = await videoState(page);
        // The 5 s clip may end first; ending also means it played through the switch.
        return s.currentTime > t0 + 0.5 || (s.paused && s.currentTime > 4);
      },
      60_000,
    );

    // Keyboard: the player's buttons work with Space like any button.
    await page.evaluate('document.querySelector("video").pause()');
    await page.getByRole('button', { name: 'Play' }).focus();
    await page.keyboard.press('Space');
    await waitFor('playing after Space', async () => !(await videoState(page)).paused);

    // Storyboard: hovering the seek bar shows the sprite tile for that moment.
    const seek = page.getByRole('slider', { name: 'Seek' });
    const box = (await seek.boundingBox())!;
    await seek.hover({ position: { x: box.width * 0.6, y: box.height / 2 } });
    await page.locator('.preview:not([hidden])').waitFor();
    assert.match((await page.locator('.preview-img').getAttribute('style')) ?? '', /storyboard[^)]*\.jpg/);
    assert.match((await page.locator('.preview-time').textContent()) ?? '', /^0:0[2-3]$/);

    await page.getByText('1 view', { exact: true }).waitFor();
    const like = page.getByRole('button', { name: 'Like' });
    await page.getByText('0 likes', { exact: true }).waitFor();
    await like.click();
    await waitFor('like registered', async () => (await like.getAttribute('aria-pressed')) === 'true');
    await page.getByText('1 like', { exact: true }).waitFor();
    await page.evaluate('document.querySelector("video").pause()');
    await screenshot(page, 'watch');
    assert.deepEqual(errors, []);
    assert.deepEqual(dialogs, []);
  });

  it('shows the encoding receipt: a row per rendition with the size, bitrates and quality the API reports', async () => {
    const { page, errors } = tp;
    await page.goto(`/watch/${videoId}`);
    const receipt = page.getByRole('region', { name: 'Encoding receipt' });
    await receipt.waitFor();
    const api = await t.client.get<{
      encoding: { mode: string };
      renditions: Array<{ height: number; bytes?: number; bandwidth: number; average_bandwidth?: number; quality: { ssim: number; psnr: number; ssim_p10: number } | null }>;
    }>(`/api/v1/videos/${videoId}`);
    const renditions = api.body.renditions.filter((r) => r.height > 0).sort((a, b) => b.height - a.height);
    assert.deepEqual(
      renditions.map((r) => r.height),
      [480, 360],
    );
    assert.match((await receipt.getByRole('heading').textContent()) ?? '', api.body.encoding.mode === 'per_title' ? /per-title/ : /fixed/);
    assert.deepEqual(await receipt.locator('thead th').allTextContents(), ['Rendition', 'Size', 'Average', 'Peak', 'SSIM', 'SSIM worst 10 %', 'PSNR']);
    const rows = await receipt.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    assert.equal(rows.length, renditions.length, JSON.stringify(rows));
    const unit: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
    // Cells are rounded for reading; each must be the API's figure to that rounding.
    const near = (text: string, value: number, label: string) => {
      const m = /^([\d.]+) (B|KB|MB|GB|kbps|Mbps|dB)$/.exec(text);
      assert.ok(m, `${label}: "${text}"`);
      const scale = m[2] === 'kbps' ? 1000 : m[2] === 'Mbps' ? 1e6 : m[2] === 'dB' ? 1 : unit[m[2]];
      const step = m[2] === 'kbps' ? 1 : Number(`1e-${m[1].split('.')[1]?.length ?? 0}`);
      assert.ok(Math.abs(Number(m[1]) - value / scale) <= step / 2 + 1e-9, `${label}: "${text}" vs ${value}`);
    };
    renditions.forEach((r, i) => {
      const [name, size, average, peak, ssim, p10, psnr] = rows[i];
      assert.equal(name, `${r.height}p`);
      assert.ok(r.bytes && r.average_bandwidth && r.quality, JSON.stringify(r));
      near(size, r.bytes, `${name} size`);
      near(average, r.average_bandwidth, `${name} average bitrate`);
      near(peak, r.bandwidth, `${name} peak bitrate`);
      assert.equal(ssim, r.quality.ssim.toFixed(4), `${name} SSIM`);
      assert.equal(p10, r.quality.ssim_p10.toFixed(4), `${name} SSIM worst decile`);
      near(psnr, r.quality.psnr, `${name} PSNR`);
    });
    assert.deepEqual(errors, []);
  });

  it('shows the video as ready on "My videos", and lays the watch page out on a phone', async () => {
    const { page } = tp;
    await page.getByRole('link', { name: 'My videos' }).click();
    const card = page.locator('article.card', { hasText: title });
    await card.waitFor();
    await card.getByText('Ready').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), false, 'one page holds everything');
    await screenshot(page, 'my-videos');

    await page.getByRole('link', { name: 'Discover' }).click();
    await page.getByText(/Ranked for you by model|Popular picks/).waitFor();

    const session = (await pageSession(page))!;
    const phone = await openPage(browser, t.url, { viewport: { width: 390, height: 844 }, isMobile: true });
    await signInWithToken(phone.page, session.token, session.user);
    await phone.page.goto(`/watch/${videoId}`);
    await phone.page.getByRole('heading', { level: 1, name: title }).waitFor();
    await phone.page.locator('video').waitFor();
    const overflow = await horizontalOverflow(phone.page);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
    await screenshot(phone.page, 'watch-phone');
    await phone.context.close();
  });

  it('resumes a paused upload after the page is reloaded', async () => {
    const { page, errors } = tp;
    await page.goto('/upload');
    // Hold the upload's data requests so the upload is caught half-way, like a stalled network.
    let held = 0;
    await page.route('**/api/v1/uploads/**', (route) => {
      if (route.request().method() === 'PATCH') {
        held += 1;
        return;
      }
      return route.continue();
    });
    await page.getByLabel('Video file').setInputFiles(clip);
    await page.getByLabel('Title').fill('Resumed clip');
    await page.getByRole('button', { name: 'Upload' }).click();
    await waitFor('the upload to start sending', async () => held > 0);
    const firstHref = await page.getByRole('link', { name: 'Open watch page' }).getAttribute('href');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('Paused.').waitFor();
    await page.unrouteAll({ behavior: 'ignoreErrors' });

    await page.reload();
    const pending = page.locator('.pending li', { hasText: 'Resumed clip' });
    await pending.waitFor();
    await screenshot(page, 'upload-unfinished');
    await page.getByLabel('Video file').setInputFiles(clip);
    await page.getByText('partly uploaded before').waitFor();
    await page.getByRole('button', { name: 'Resume upload' }).click();
    await waitFor('resumed upload at 100 %', async () => (await page.getByRole('progressbar', { name: 'Upload' }).getAttribute('aria-valuenow')) === '100', 60_000);
    assert.equal(await page.getByRole('link', { name: 'Open watch page' }).getAttribute('href'), firstHref, 'the same video, not a new one');
    await page.getByText('Your video is ready.').waitFor({ timeout: 180_000 });
    await page.locator('.pending li').first().waitFor({ state: 'detached' });

    const session = (await pageSession(page))!;
    const mine = await t.client.as(session.token).get<{ items: Array<{ title: string }> }>('/api/v1/videos?owner=me');
    assert.deepEqual(mine.body.items.map((v) => v.title).sort(), ['Resumed clip', title].sort());
    assert.deepEqual(errors, []);
  });

  it("Discover: trending follows engagement live, and the feed ranks other people's videos", async () => {
    const bob = await t.client.newUser('bob');
    const viewer = await openPage(browser, t.url);
    await signInWithToken(viewer.page, bob.client.token!, bob.user);
    const trending = viewer.page.getByRole('list', { name: 'Trending videos' });
    // Alice viewed and liked the first video.
    await trending.locator('article', { hasText: title }).waitFor();
    // A viewer's list follows the event stream, without the admin's refresh times and model names.
    await viewer.page.locator('[data-live="true"]').waitFor({ state: 'attached' });
    assert.equal(await viewer.page.getByText(/updated|score|model/).count(), 0, 'no admin jargon for viewers');
    const forYou = viewer.page.getByRole('region', { name: 'For you' });
    await forYou.locator('article', { hasText: title }).locator('img').waitFor();
    await forYou.getByText(/Picked for you|Popular picks/).waitFor();

    // New engagement on the resumed video reaches the open page through the event stream.
    const list = await bob.client.get<{ items: Array<{ id: string; title: string }> }>(`/api/v1/videos?owner=${(await pageSession(tp.page))!.user.id}`);
    const resumed = list.body.items.find((v) => v.title === 'Resumed clip')!;
    assert.equal(await trending.locator('article', { hasText: 'Resumed clip' }).count(), 0);
    for (const c of [bob.client, (await t.client.newUser('carol')).client]) {
      assert.equal((await c.post(`/api/v1/videos/${resumed.id}/views`)).status, 200);
      assert.equal((await c.put(`/api/v1/videos/${resumed.id}/like`)).status, 200);
    }
    await trending.locator('article', { hasText: 'Resumed clip' }).waitFor({ timeout: 25_000 });
    await screenshot(viewer.page, 'discover');
    assert.deepEqual(viewer.errors, []);
    await viewer.context.close();
  });

  it('edits a video in place, finds it as you type, lists it under Latest, and follows its channel', async () => {
    const { page, errors } = tp;
    await page.goto(`/watch/${videoId}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit video' });
    await form.getByLabel('Title').fill('Holiday in Café Paris');
    await form.getByLabel('Tags').fill('travel, summer');
    await form.getByLabel('Visibility').selectOption('unlisted');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Holiday in Café Paris' }).waitFor();
    await page.getByText('Unlisted', { exact: true }).waitFor();
    await page.getByText('#travel #summer').waitFor();
    await screenshot(page, 'watch-edited');

    // Search as you type: the owner finds their own unlisted video, without accents, by prefixes.
    const box = page.getByRole('combobox', { name: 'Search' });
    await box.pressSequentially('cafe par', { delay: 30 });
    const option = page.getByRole('option', { name: /Holiday in Café Paris/ });
    await option.waitFor();
    await screenshot(page, 'search-suggestions');
    await box.press('ArrowDown');
    await box.press('Enter');
    await page.waitForURL(`**/watch/${videoId}`);

    // Others: the unlisted video is in no listing; once public it is under Latest.
    const bob = await openPage(browser, t.url);
    const bobUser = await t.client.newUser('bobby');
    await signInWithToken(bob.page, bobUser.client.token!, bobUser.user);
    const latest = bob.page.getByRole('region', { name: 'Latest' });
    await latest.locator('article', { hasText: 'Resumed clip' }).waitFor();
    assert.equal(await latest.locator('article', { hasText: 'Holiday in Café Paris' }).count(), 0);
    assert.equal((await bobUser.client.get(`/api/v1/search?q=holiday`)).status, 200);
    assert.equal((await bobUser.client.get<{ items: unknown[] }>('/api/v1/search?q=holiday')).body.items.length, 0);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('form', { name: 'Edit video' }).getByLabel('Visibility').selectOption('public');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Holiday in Café Paris' }).waitFor();
    await bob.page.reload();
    await latest.locator('article', { hasText: 'Holiday in Café Paris' }).waitFor();
    await screenshot(bob.page, 'discover-latest');

    // Bob opens Alice's channel and follows her.
    await bob.page.goto(`/u/${username}`);
    await bob.page.getByRole('heading', { level: 1, name: username }).waitFor();
    await bob.page.getByText(/^0 followers · \d+ videos?$/).waitFor();
    await bob.page.locator('[aria-label="Videos"]').locator('article', { hasText: 'Holiday in Café Paris' }).waitFor();
    await bob.page.getByRole('button', { name: 'Follow' }).click();
    await bob.page.getByRole('button', { name: 'Following' }).waitFor();
    await bob.page.getByText(/^1 follower · /).waitFor();
    const following = await bobUser.client.get<{ items: Array<{ username: string }> }>('/api/v1/me/following');
    assert.deepEqual(
      following.body.items.map((i) => i.username),
      [username],
    );
    await screenshot(bob.page, 'channel');
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(errors, []);
    await bob.context.close();
  });

  it('signs out, refuses a wrong password inline and signs back in to the page it came from', async () => {
    const { page } = tp;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('header').getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await pageSession(page), null);
    await page.goto('/me/videos');
    await page.locator('main').getByRole('link', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await screenshot(page, 'signin-error');
    await page.getByLabel('Password').fill('password-123');
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL('**/me/videos');
    await page.locator('header .who', { hasText: username }).waitFor();
  });
});
