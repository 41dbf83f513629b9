// How `nova serve` serves the web app (no browser needed): index.html for every page path that
// asks for HTML, uncached; hashed assets cached for a year; API paths keep problem+json 404s; a
// clear page when the bundle was not built. Also a source check that the app never parses HTML.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { buildWebApp } from './helpers/browser.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function get(url: string, accept?: string): Promise<{ status: number; type: string; cache: string; csp: string; body: string }> {
  const res = await fetch(url, { headers: accept ? { accept } : {} });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    cache: res.headers.get('cache-control') ?? '',
    csp: res.headers.get('content-security-policy') ?? '',
    body: await res.text(),
  };
}

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('web app serving', () => {
  let webDir: string;
  let t: TestNova;
  before(async () => {
    webDir = await buildWebApp();
    t = await startTestNova({ WEB_DIR: webDir });
  });
  after(async () => {
    await t?.stop();
    if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('answers page paths that ask for HTML with index.html, revalidated on every load and under a CSP', async () => {
    const index = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
    for (const p of ['/', '/watch/0193e0c4-0000-7000-8000-000000000000', '/live/abc', '/admin', '/go-live?x=1']) {
      const res = await get(`${t.url}${p}`, HTML);
      assert.equal(res.status, 200, p);
      assert.match(res.type, /^text\/html/);
      assert.equal(res.body, index);
      assert.equal(res.cache, 'no-cache');
      assert.match(res.csp, /script-src 'self'/);
      assert.match(res.csp, /frame-ancestors 'none'/);
    }
    assert.equal((await get(`${t.url}/`)).body, index, '`curl /` gets the app too');

    // Revalidation: the same index answers 304 to its ETag.
    const first = await fetch(`${t.url}/me/videos`, { headers: { accept: HTML } });
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${t.url}/upload`, { headers: { accept: HTML, 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const index = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
    const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), assets.join(', '));
    for (const a of assets) {
      const res = await get(`${t.url}${a}`);
      assert.equal(res.status, 200, a);
      assert.match(res.cache, /max-age=31536000/);
      assert.match(res.cache, /immutable/);
      assert.match(res.type, a.endsWith('.js') ? /javascript/ : /text\/css/);
    }
    const missing = await get(`${t.url}/assets/nope-123.js`);
    assert.equal(missing.status, 404);
    assert.match(missing.type, /application\/problem\+json/);
  });

  it('leaves unknown API and server paths, and non-HTML requests, to problem+json 404s', async () => {
    for (const [p, accept] of [
      ['/api/v1/nope', HTML],
      ['/api/v1/videos/x/y/z', HTML],
      ['/docs/nope', HTML],
      ['/metrics/x', HTML],
      ['/watch/abc', 'application/json'],
      ['/favicon.ico', 'image/avif,image/webp,*/*'],
    ]) {
      const res = await get(`${t.url}${p}`, accept);
      assert.equal(res.status, 404, p);
      assert.match(res.type, /application\/problem\+json/, p);
      const problem = JSON.parse(res.body) as { detail: string };
      assert.match(problem.detail, /No route for GET/);
    }
    const post = await fetch(`${t.url}/watch/abc`, { method: 'POST', headers: { accept: HTML } });
    assert.equal(post.status, 404);
    assert.match(post.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await get(`${t.url}/healthz`)).status, 200, 'server routes still answer');
  });

  it('explains how to build the app when there is no bundle', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-noweb-'));
    const bare = await startTestNova({ WEB_DIR: empty });
    try {
      const res = await get(`${bare.url}/upload`, HTML);
      assert.equal(res.status, 503);
      assert.match(res.type, /^text\/html/);
      assert.match(res.body, /has not been built/);
      assert.match(res.body, /npm run build/);
      assert.equal(res.cache, 'no-store');
      assert.equal((await get(`${bare.url}/api/v1/nope`, HTML)).status, 404);
    } finally {
      await bare.stop();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('renders user content as text: the app source never parses HTML', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|html)$/.test(e.name)) files.push(p);
      }
    };
    walk(path.join(ROOT, 'web'));
    assert.ok(files.length > 10);
    for (const f of files) {
      const src = fs.readFileSync(f, 'utf8');
      assert.doesNotMatch(src, /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser/, `${path.relative(ROOT, f)} must build DOM from text nodes`);
    }
  });
});
