// Running an instance from the admin pages in a real browser, at 1280×800 (the admin) and 390×844
// (the users): the first-admin checklist and the instance's name on the home page, an invite-only
// sign-up, disabling a user who then can neither upload nor sign in, hiding a video that then
// answers 404 to everyone but its owner and admins, and axe-core on every admin page state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { getInstance, updateInstance } from '../src/client/admin.client.js';
import type { NovaClient, UserInfo } from '../src/client/nova-client.js';
import { waitForStatus } from '../src/client/videos.client.js';
import { axeViolations } from './helpers/axe.js';
import { buildWebApp, chromiumSkipReason, horizontalOverflow, launchBrowser, openPage, pageSession, screenshot, signInWithToken, signUpInPage, type TestPage } from './helpers/browser.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { clip, createAndUpload, removeClips } from './helpers/vod.js';

const skip = chromiumSkipReason();
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

describe('web app: running an instance from the admin pages', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let tp: TestPage;
  let admin: NovaClient;

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir });
    browser = await launchBrowser();
    tp = await openPage(browser, t.url);
    // The instance's first account is its admin.
    await signUpInPage(tp.page, `root_${Math.random().toString(36).slice(2, 8)}`);
    admin = t.client.as((await pageSession(tp.page))!.token);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    removeClips();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('walks the first admin through the checklist; the name and description reach the home page; invite-only sign-up works', async () => {
    const { page } = tp;
    await page.getByRole('link', { name: 'Admin' }).click();
    const checklist = page.getByRole('region', { name: 'Getting started' });
    await checklist.getByText('Name the instance').waitFor();
    assert.deepEqual((await page.getByRole('img', { name: /no data yet/ }).count()) > 0, true, 'empty charts say so instead of drawing axes');
    assert.deepEqual(await axeViolations(page), [], 'admin page, fresh instance');
    await screenshot(page, 'admin-checklist');

    await page.getByLabel('Instance name').fill('Cat Films');
    await page.getByLabel('Short description (shown on the home page)').fill('Short films about cats, by their people.');
    await page.getByLabel('Who may sign up').selectOption('invite_only');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    assert.equal(await checklist.count(), 0, 'the checklist is gone once done');
    assert.equal((await getInstance(t.client)).body.registration_mode, 'invite_only');

    await page.getByRole('button', { name: 'Create invite code' }).click();
    const code = (await page.getByRole('textbox', { name: 'New invite code' }).inputValue()).trim();
    assert.match(code, /^inv_/);
    assert.deepEqual(await axeViolations(page), [], 'admin page with an invite');

    await page.getByRole('link', { name: 'Discover' }).click();
    const intro = page.getByRole('region', { name: 'About this instance' });
    await intro.getByText('Cat Films').waitFor();
    await intro.getByText('Short films about cats, by their people.').waitFor();
    await page.getByRole('link', { name: 'Cat Films home' }).waitFor();

    // A newcomer on a phone: without the code sign-up is refused, with it the account is made.
    const phone = await openPage(browser, t.url, PHONE);
    await phone.page.goto('/signup');
    await phone.page.getByLabel('Invite code').waitFor();
    const name = `guest_${Math.random().toString(36).slice(2, 8)}`;
    await phone.page.getByLabel('Username').fill(name);
    await phone.page.getByLabel('Password').fill('password-123');
    await phone.page.getByRole('button', { name: 'Sign up' }).click();
    await phone.page
      .getByRole('alert')
      .getByText(/needs an invite code/)
      .waitFor();
    await phone.page.getByLabel('Invite code').fill(code);
    await phone.page.getByRole('button', { name: 'Sign up' }).click();
    await phone.page.getByText(name, { exact: true }).waitFor();
    assert.equal((await pageSession(phone.page))?.user.username, name);
    await screenshot(phone.page, 'admin-invite-signup-phone');
    assert.deepEqual(
      phone.errors.filter((e) => !/40[13]/.test(e)),
      [],
    );
    await phone.context.close();
    assert.equal((await updateInstance(admin, { registration_mode: 'open' })).status, 200);
    assert.deepEqual(tp.errors, []);
  });

  it('an admin disables a user, who then can no longer upload or sign in', async () => {
    const { page } = tp;
    await updateInstance(admin, { registration_mode: 'open' });
    const { client: victim, user } = await t.client.newUser('victim');
    const phone = await openPage(browser, t.url, PHONE);
    await signInWithToken(phone.page, victim.token!, user);

    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByLabel('Search users').fill(user.username);
    const row = page.locator('tr', { has: page.locator('th', { hasText: user.username }) });
    await row.waitFor();
    await row.getByRole('button', { name: `Disable ${user.username}` }).click();
    await page.getByText(`${user.username} is disabled`).waitFor();
    await row.getByText('Disabled').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'admin page, users');
    await screenshot(page, 'admin-users');

    // Upload: the token is refused, so the app drops the session and asks to sign in again.
    await phone.page.goto('/upload');
    await phone.page.getByLabel('Video file').setInputFiles({ name: 'clip.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(4096) });
    await phone.page.getByLabel('Title').fill('Should not upload');
    await phone.page.getByRole('button', { name: 'Upload', exact: true }).click();
    await phone.page.getByText('Sign in to upload videos.').waitFor();
    assert.equal(await pageSession(phone.page), null, 'the refused token is dropped');
    assert.equal((await victim.post('/api/v1/videos', { title: 'by API' })).status, 401);

    // Sign-in: the right password gets the reason, not a session.
    await phone.page.goto('/signin');
    await phone.page.getByLabel('Username').fill(user.username);
    await phone.page.getByLabel('Password').fill('password-123');
    await phone.page.getByRole('button', { name: 'Sign in' }).click();
    await phone.page.getByRole('alert').getByText('This account has been disabled by an admin of this instance.').waitFor();
    assert.equal(await pageSession(phone.page), null);
    await screenshot(phone.page, 'admin-disabled-signin-phone');
    const own = await admin.get<{ items: Array<{ title: string }> }>(`/api/v1/videos?owner=${user.id}`);
    assert.deepEqual(own.body.items, [], 'nothing was created');
    await phone.context.close();
  });

  it('an admin hides a video, which then answers 404 to everyone but its owner and admins', async () => {
    const { page } = tp;
    await updateInstance(admin, { registration_mode: 'open' });
    const { client: owner, user: ownerInfo } = await t.client.newUser('creator');
    const created = await createAndUpload(owner, await clip('admin-hide.mp4', { width: 320, height: 180, seconds: 2 }), 'A video to hide');
    const id = created.video.id;
    await waitForStatus(owner, id, ['ready']);

    const viewer = await openPage(browser, t.url, PHONE);
    await viewer.page.goto(`/watch/${id}`);
    await viewer.page.getByRole('heading', { name: 'A video to hide' }).waitFor();

    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByLabel('Video or stream id (or its URL)').fill(`${t.url}/watch/${id}`);
    await page.getByLabel('Action').selectOption('hide');
    await page.getByLabel('Reason (kept in the moderation log)').fill('Reported: not about cats');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Hidden: “A video to hide”.').waitFor();
    const logRow = page.locator('table tr', { hasText: 'Reported: not about cats' });
    await logRow.getByText(ownerInfo.username).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'admin page, moderation');
    await screenshot(page, 'admin-moderation');

    await viewer.page.reload();
    await viewer.page.getByRole('heading', { name: 'Video not found' }).waitFor();
    await screenshot(viewer.page, 'admin-hidden-video-phone');
    assert.equal((await t.client.as(null).get(`/api/v1/videos/${id}`)).status, 404);
    const others = (await t.client.newUser('other')).client;
    assert.equal((await others.get(`/api/v1/videos/${id}`)).status, 404);
    assert.equal((await others.get(`/api/v1/videos/${id}/playback`)).status, 404);
    const mine = await owner.get<{ hidden: { reason: string } | null }>(`/api/v1/videos/${id}`);
    assert.equal(mine.body.hidden?.reason, 'Reported: not about cats');
    assert.equal((await admin.get(`/api/v1/videos/${id}`)).status, 200);
    await viewer.context.close();
    assert.deepEqual(tp.errors, []);
  });

  it('the admin pages work on a phone: every section reachable, nothing cut off, no serious axe violation', async () => {
    const phone = await openPage(browser, t.url, PHONE);
    const session = (await pageSession(tp.page))!;
    await signInWithToken(phone.page, session.token, session.user as UserInfo);
    await phone.page.goto('/admin');
    const tabs = phone.page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link');
    assert.deepEqual(await tabs.allTextContents(), ['Instance', 'Users', 'Moderation', 'Jobs', 'Models', 'Experiments', 'Playback quality']);
    for (const tab of await tabs.all()) {
      const box = await tab.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${await tab.textContent()} is on screen`);
    }
    await phone.page.locator('table tr', { hasText: 'Reported: not about cats' }).waitFor();
    await phone.page.getByText(/^Queue \(/).waitFor();
    assert.ok((await horizontalOverflow(phone.page)) <= 0, 'the phone layout does not scroll sideways');
    assert.deepEqual(await axeViolations(phone.page), [], 'admin page on a phone');
    await screenshot(phone.page, 'admin-phone');
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  });
});
