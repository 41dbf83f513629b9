// The admin pages in a real browser: the served model with its latency numbers and chart, reload
// (and a refused reload shown inline), and an experiment created through the form whose results
// table, SRM line and lift chart follow real assignments and conversions.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { experiments } from '../src/client/experiments.client.js';
import { infer } from '../src/client/models.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { buildWebApp, chromiumSkipReason, launchBrowser, openPage, pageSession, screenshot, signUpInPage, waitFor, type TestPage } from './helpers/browser.js';

const skip = chromiumSkipReason();
const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

describe('web app: admin pages in a browser', { skip }, () => {
  let webDir: string;
  let t: TestNova;
  let browser: Browser;
  let tp: TestPage;
  let admin: NovaClient;

  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir, MODELS_DIR });
    browser = await launchBrowser();
    tp = await openPage(browser, t.url);
    // The instance's first account is its admin.
    await signUpInPage(tp.page, `root_${Math.random().toString(36).slice(2, 8)}`);
    admin = t.client.as((await pageSession(tp.page))!.token);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('is only offered to admins', async () => {
    const other = await openPage(browser, t.url);
    const { client, user } = await t.client.newUser('plain');
    await other.page.goto('/');
    await other.page.evaluate(`localStorage.setItem("nova.session", ${JSON.stringify(JSON.stringify({ token: client.token, user }))})`);
    await other.page.goto('/admin');
    await other.page.getByText('Only admins can see this page.').waitFor();
    assert.equal(await other.page.locator('header nav a', { hasText: 'Admin' }).count(), 0);
    await other.context.close();
  });

  it('shows the served model, its latency chart, and reloads it', async () => {
    const { page } = tp;
    const features = { features: { dims: [4, 9], data: Array.from({ length: 36 }, (_, i) => (i % 9) / 9) } };
    for (let i = 0; i < 5; i++) assert.equal((await infer(admin, 'feed-ranker', features)).status, 200);

    await page.getByRole('link', { name: 'Admin' }).click();
    const row = page.locator('tbody tr', { has: page.locator('th', { hasText: 'feed-ranker' }) });
    await row.waitFor();
    assert.equal((await row.locator('td').nth(0).textContent())?.trim(), '1', 'version 1');
    assert.equal((await row.locator('td').nth(2).textContent())?.trim(), '5', 'five inferences');
    assert.match((await row.locator('td').nth(4).textContent()) ?? '', /ms$/, 'p50 shown');

    // The chart is drawn from samples taken while the page is open: wait for two.
    await waitFor('latency chart lines', async () => (await page.locator('svg.chart path.series').count()) === 3, 30_000);

    await page.getByRole('button', { name: 'Reload feed-ranker' }).click();
    await page.getByText('feed-ranker now serves version 1 (was 1).').waitFor();

    await page.getByLabel('Model name').fill('feed-ranker');
    await page.getByLabel('Model file path (on the server)').fill('feed-ranker/1/metadata.json');
    await page.getByRole('button', { name: 'Load model' }).click();
    const refused = page.locator('form [role="alert"]').first();
    await refused.waitFor();
    assert.ok(((await refused.textContent()) ?? '').length > 10, 'the server explains the refusal');
  });

  it('creates an experiment through the form and shows its results with a chart', async () => {
    const { page, errors } = tp;
    await page.getByLabel('Experiment key').fill('upload-button');
    assert.equal(await page.getByLabel('Variant 2 key').inputValue(), 'treatment');
    await page.getByLabel('Metric', { exact: true }).fill('click');
    await page.getByLabel('Traffic %').fill('100');
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.getByText('Experiment upload-button created.').waitFor();
    await page.locator('tbody tr th', { hasText: 'upload-button' }).waitFor();

    // Real traffic: users get sticky variants; every treatment user converts, every other control
    // user does (the first one included), so both rates are above 0 and the lift is defined.
    let assigned = 0;
    let control = 0;
    for (let i = 0; i < 24; i++) {
      const { client } = await t.client.newUser('exp');
      const a = await experiments.assignment(client, 'upload-button');
      assert.equal(a.status, 200);
      assigned += 1;
      const converts = a.body.variant === 'treatment' || control++ % 2 === 0;
      if (converts) assert.ok([200, 201].includes((await experiments.convert(client, 'upload-button', 'click')).status));
    }
    assert.ok(control > 0 && control < assigned, 'both variants have users');

    await page.getByRole('button', { name: 'Results of upload-button' }).click();
    const table = page.locator('table', { has: page.locator('caption', { hasText: 'Results of upload-button' }) });
    await table.waitFor();
    await waitFor(
      'all users in the results',
      async () => {
        const users = await table.locator('tbody tr td:nth-of-type(1)').allTextContents();
        return users.reduce((sum, u) => sum + Number(u.replace(/\D/g, '')), 0) === assigned;
      },
      30_000,
    );
    assert.deepEqual(await table.locator('tbody tr th').allTextContents(), ['control (control)', 'treatment']);
    await page.getByText(/SRM p =/).waitFor();
    assert.equal(await page.locator('svg.chart[aria-label^="Lift of each variant"] circle').count(), 1, 'one point: the treatment');
    await screenshot(page, 'admin');
    assert.deepEqual(errors, []);
  });
});
