// Browser tests: a fresh Vite build of the web app, and Debian's Chromium driven by playwright-core
// (Playwright's own browser download does not work on these machines). Outside CI a suite skips
// with one line when Chromium is absent; in CI it must run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { IS_CI } from './env.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, '.artifacts', 'web');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A reason to skip when Chromium is missing (outside CI); throws in CI. */
export function chromiumSkipReason(): string | false {
  if (fs.existsSync(CHROMIUM_PATH)) return false;
  if (IS_CI) throw new Error(`Chromium is required in CI at ${CHROMIUM_PATH} (.ci/run installs it)`);
  const reason = `no Chromium at ${CHROMIUM_PATH}: browser suite skipped`;
  console.log(`# skip: ${reason}`);
  return reason;
}

/**
 * Builds the web app into a temporary folder, so the test always runs the current sources (a
 * dist/web/app left from an older build would not). Returns the folder; the caller removes it.
 */
export async function buildWebApp(): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-web-'));
  const { build } = await import('vite');
  await build({
    configFile: path.join(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  if (!fs.existsSync(path.join(outDir, 'index.html'))) throw new Error(`vite build produced no index.html in ${outDir}`);
  return outDir;
}

/** Launches Chromium; playwright gives every launch a fresh, temporary user-data dir. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
  /** Messages of every alert/confirm/prompt the page opened (confirms are accepted). */
  dialogs: string[];
}

export async function openPage(browser: Browser, baseURL: string, opts: { viewport?: { width: number; height: number }; isMobile?: boolean } = {}): Promise<TestPage> {
  // Reduced motion: screenshots show finished states, not a progress bar mid-animation.
  const context = await browser.newContext({ baseURL, viewport: opts.viewport ?? { width: 1280, height: 800 }, isMobile: opts.isMobile, hasTouch: opts.isMobile, reducedMotion: 'reduce' });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Failed resource loads (an expected 404 probe) are not app errors; script errors are.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void (d.type() === 'confirm' ? d.accept() : d.dismiss());
  });
  return { context, page, errors, dialogs };
}

/** Saves a full-page screenshot under .artifacts/web/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  // From the top, so the sticky header is drawn where it belongs in the full-page image.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value; fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 60_000, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** Signs up through the page's form and waits until the header shows the user. */
export async function signUpInPage(page: Page, username: string, password = 'password-123'): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('header .who', { hasText: username }).waitFor();
}

// Page-side snippets are strings: this project's TypeScript has no DOM library, and these are tiny.

/** The signed-in session the page keeps in localStorage ({token, user}), or null. */
export async function pageSession(page: Page): Promise<{ token: string; user: { id: string; username: string; role: string } } | null> {
  const raw = (await page.evaluate('localStorage.getItem("nova.session")')) as string | null;
  return raw ? JSON.parse(raw) : null;
}

/** Puts a session into the page's storage (for users made through the API) and reloads. */
export async function signInWithToken(page: Page, token: string, user: { id: string; username: string; role: string }): Promise<void> {
  await page.goto('/');
  await page.evaluate(`localStorage.setItem("nova.session", ${JSON.stringify(JSON.stringify({ token, user }))})`);
  await page.reload();
  await page.locator('header .who', { hasText: user.username }).waitFor();
}

export interface VideoState {
  currentTime: number;
  paused: boolean;
  error: number | null;
}

/** Starts the page's first <video> muted (which autoplay rules always allow). */
export async function playMuted(page: Page): Promise<void> {
  await page.evaluate('(() => { const v = document.querySelector("video"); v.muted = true; return v.play(); })()');
}

/** The first <video>'s playback state (not started while there is none yet). */
export async function videoState(page: Page): Promise<VideoState> {
  return (await page.evaluate('(() => { const v = document.querySelector("video"); return v ? { currentTime: v.currentTime, paused: v.paused, error: v.error ? v.error.code : null } : { currentTime: 0, paused: true, error: null }; })()')) as VideoState;
}

/** Pixels the page is wider than the viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
}
