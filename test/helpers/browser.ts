// Browser tests: a fresh Vite build of the web app, and Chromium driven by playwright-core
// (Playwright's own browser download does not work on these machines). The browser is found the
// way ffmpeg is: CHROMIUM_PATH, else a Chromium on PATH, else the one shipped compressed inside the
// @sparticuz/chromium package (unpacked once into node_modules/.cache). Outside CI a suite skips
// with one line when none runs; in CI it must run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { IS_CI } from './env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, '.artifacts', 'web');

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface ResolvedBrowser {
  path: string;
  source: 'CHROMIUM_PATH' | 'PATH' | '@sparticuz/chromium';
  /** Extra environment the browser needs (the packaged one brings its own NSS and fonts). */
  env: Record<string, string>;
}

const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Unpacks @sparticuz/chromium (brotli-compressed binary, fonts, SwiftShader and the NSS libraries it
 * links) into a folder per package version. The package unpacks into os.tmpdir(), so a child process
 * does it with TMPDIR pointing at a private folder that is then renamed into place: parallel test
 * processes never see a half-written browser.
 */
function packagedChromium(): ResolvedBrowser | undefined {
  let pkgDir: string;
  try {
    pkgDir = path.resolve(path.dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '..', '..');
  } catch {
    return undefined;
  }
  if (process.platform !== 'linux') return undefined;
  const version = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = path.join(ROOT, 'node_modules', '.cache', 'nova-chromium', `${version}-${process.arch}`);
  if (!fs.existsSync(path.join(dir, 'chromium'))) {
    const tmp = `${dir}.partial-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const script = `const m = await import('@sparticuz/chromium'); await m.default.executablePath();`;
    // The package unpacks the NSS libraries too only where it believes it runs on Amazon Linux 2023;
    // a machine with only Node lacks them, so the child says so.
    const env = { ...process.env, TMPDIR: tmp, AWS_LAMBDA_JS_RUNTIME: 'nodejs22.x' };
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
    if (res.status !== 0 || !fs.existsSync(path.join(tmp, 'chromium')) || !fs.existsSync(path.join(tmp, 'al2023', 'lib'))) {
      fs.rmSync(tmp, { recursive: true, force: true });
      console.log(`# @sparticuz/chromium did not unpack: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}`);
      return undefined;
    }
    // Its own fonts.conf names Lambda's folders; this one adds the packaged fonts to the system's.
    fs.writeFileSync(
      path.join(tmp, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${dir}/fonts</dir>\n  <cachedir>${dir}/fontconfig-cache</cachedir>\n</fontconfig>\n`,
    );
    try {
      fs.renameSync(tmp, dir);
    } catch {
      // Another process finished first: its copy is as good.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const libs = path.join(dir, 'al2023', 'lib');
  return {
    path: path.join(dir, 'chromium'),
    source: '@sparticuz/chromium',
    env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), FONTCONFIG_FILE: path.join(dir, 'fonts.conf') },
  };
}

let resolved: ResolvedBrowser | null | undefined;

/** The browser the suites drive, or null when none is available (resolved once per process). */
export function resolveBrowser(): ResolvedBrowser | null {
  if (resolved !== undefined) return resolved;
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`CHROMIUM_PATH points to "${explicit}", which does not exist`);
    return (resolved = { path: explicit, source: 'CHROMIUM_PATH', env: {} });
  }
  const found = PATH_NAMES.map(onPath).find(Boolean);
  resolved = found ? { path: found, source: 'PATH', env: {} } : (packagedChromium() ?? null);
  return resolved;
}

/** A reason to skip when no browser runs (outside CI); throws in CI. */
export function chromiumSkipReason(): string | false {
  if (resolveBrowser()) return false;
  const what = 'no Chromium (CHROMIUM_PATH, chromium on PATH, or the @sparticuz/chromium package)';
  if (IS_CI) throw new Error(`${what}: a browser is required in CI`);
  const reason = `${what}: browser suite skipped`;
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
  const b = resolveBrowser();
  if (!b) throw new Error('no browser: call chromiumSkipReason() first');
  return chromium.launch({ executablePath: b.path, headless: true, args: CHROMIUM_ARGS, timeout: 60_000, env: { ...process.env, ...b.env } as Record<string, string> });
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
  return (await page.evaluate(
    '(() => { const v = document.querySelector("video"); return v ? { currentTime: v.currentTime, paused: v.paused, error: v.error ? v.error.code : null } : { currentTime: 0, paused: true, error: null }; })()',
  )) as VideoState;
}

/** Pixels the page is wider than the viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
}
