// Playback quality measured by the web app's own player in a real browser: Chromium plays a video
// whose segments arrive late (route-level delay, as on a slow network), so playback stalls; the
// player's beacons reach Nova and the video's QoE aggregate shows the session, its startup time,
// the rebuffers and the rendition switches. The creator's QoE page and the admin dashboard render them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { NovaClient, UserInfo } from '../src/client/nova-client.js';
import { qoe, type QoeSummary } from '../src/client/qoe.client.js';
import { getVideo } from '../src/client/videos.client.js';
import { makeClip } from './fixtures/clips.js';
import { buildWebApp, chromiumSkipReason, launchBrowser, openPage, playMuted, screenshot, signInWithToken, videoState, waitFor, type TestPage } from './helpers/browser.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createAndUpload } from './helpers/vod.js';

const skip = chromiumSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('web app: playback quality under a slow network', { skip }, () => {
  let webDir: string;
  let clipDir: string;
  let t: TestNova;
  let browser: Browser;
  let admin: { client: NovaClient; user: UserInfo };
  let owner: { client: NovaClient; user: UserInfo };
  let tp: TestPage;
  let videoId = '';

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir });
    admin = await t.client.newUser('admin');
    owner = await t.client.newUser('creator');
    clipDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-qoe-clip-'));
    // 640x480: the 480p and 360p renditions; 24 s: four 6 s segments each.
    const clip = await makeClip({ width: 640, height: 480, seconds: 24, fps: 24 }, path.join(clipDir, 'slow.mp4'));
    videoId = (await createAndUpload(owner.client, clip, 'Slow network')).video.id;
    await waitFor(
      'the video to be ready',
      async () => {
        const v = (await getVideo(owner.client, videoId)).body;
        if (v.status === 'failed') throw new Error('transcode failed');
        return v.status === 'ready';
      },
      300_000,
      500,
    );
    browser = await launchBrowser();
    tp = await openPage(browser, t.url);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
    if (clipDir) fs.rmSync(clipDir, { recursive: true, force: true });
  });

  it('stalls, and the aggregate shows the session, startup, rebuffers and rendition switches', async () => {
    const { page, errors } = tp;
    await signInWithToken(page, owner.client.token!, owner.user);
    // Every media segment after the first of each rendition arrives 9 s late: longer than the 6 s it plays.
    const seen = new Set<string>();
    await page.route(/\/media\/.*\.ts(\?|$)/, async (route) => {
      const dir = /\/(v\d+)\/seg_(\d+)\.ts/.exec(route.request().url());
      const first = dir ? !seen.has(dir[1]!) : false;
      if (dir) seen.add(dir[1]!);
      if (!first) await sleep(9_000);
      await route.continue().catch(() => {});
    });
    await page.goto(`/watch/${videoId}`);
    const quality = page.getByLabel('Quality');
    await waitFor('quality menu lists the renditions', async () => (await quality.locator('option').count()) >= 3);
    await playMuted(page);
    await waitFor('the first frame', async () => (await videoState(page)).currentTime > 0.5, 60_000);

    const aggregate = () => qoe.video(owner.client, videoId, '1h').then((r) => r.body);
    let q: QoeSummary = await waitFor(
      'a rebuffer in the aggregate',
      async () => {
        const a = await aggregate();
        return a.rebuffers >= 1 ? a : null;
      },
      90_000,
      1000,
    );
    // Switch rendition by hand as well (hls.js may already have switched down on its own).
    const options = await quality.locator('option').allTextContents();
    const current = (await page.evaluate('document.querySelector(".quality option").textContent')) as string;
    const target = options.find((o) => o.startsWith(current.includes('360') ? '480p' : '360p')) ?? options.find((o) => o.startsWith('360p'))!;
    await quality.selectOption({ label: target });
    q = await waitFor(
      'rendition switches in the aggregate',
      async () => {
        const a = await aggregate();
        return a.level_switches >= 1 && a.renditions.length >= 2 ? a : null;
      },
      120_000,
      1000,
    );
    console.log(
      `# QoE after a slow-network playback: ${JSON.stringify({ sessions: q.sessions, startup_ms: q.startup_ms, rebuffers: q.rebuffers, rebuffer_ratio: q.rebuffer_ratio, level_switches: q.level_switches, renditions: q.renditions })}`,
    );
    assert.equal(q.sessions, 1);
    assert.ok(q.startup_ms.p50! > 0, 'a startup time');
    assert.ok(q.rebuffers >= 1 && q.rebuffer_ratio > 0 && q.rebuffer_seconds > 0);
    assert.ok(
      q.renditions.every((r) => r.height === 360 || r.height === 480),
      JSON.stringify(q.renditions),
    );
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    assert.deepEqual(errors, []);
  });

  it("shows the creator their video's playback quality, and the admin the instance's", async () => {
    const { page, errors } = tp;
    await page.getByRole('link', { name: 'Playback quality' }).click();
    await page.waitForURL(`**/watch/${videoId}/quality`);
    const region = page.getByRole('region', { name: 'Playback quality' });
    await region.getByText('Sessions', { exact: true }).waitFor();
    await page.getByLabel('Window').selectOption('1h');
    await region.locator('.qoe-stats li', { hasText: 'Sessions' }).getByText('1', { exact: true }).waitFor();
    await page.getByRole('img', { name: 'Startup time p50 and p95 over time' }).waitFor();
    assert.equal(await page.getByRole('list', { name: 'Rendition mix' }).locator('li').count(), 2);
    await screenshot(page, 'qoe-video');
    assert.deepEqual(errors, []);

    const adminPage = await openPage(browser, t.url);
    await signInWithToken(adminPage.page, admin.client.token!, admin.user);
    await adminPage.page.goto('/admin');
    const section = adminPage.page.getByRole('region', { name: 'Playback quality' });
    await section.locator('.qoe-stats li', { hasText: 'Sessions' }).getByText('1', { exact: true }).waitFor();
    await section.getByRole('img', { name: 'Rebuffer ratio over time' }).waitFor();
    await screenshot(adminPage.page, 'qoe-admin');
    assert.deepEqual(adminPage.errors, []);
    await adminPage.context.close();
  });
});
