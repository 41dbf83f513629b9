// How `nova serve` serves the web app (no browser needed): index.html for every page path that
// asks for HTML, uncached; hashed assets cached for a year; API paths keep problem+json 404s; a
// clear page when the bundle was not built. Also a source check that the app never parses HTML.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
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

function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
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
    // node:http: fetch would add `cache-control: no-cache`, which asks for the body (see below).
    assert.equal((await rawGet(`${t.url}/upload`, { accept: HTML, 'if-none-match': etag })).status, 304);
    assert.equal((await rawGet(`${t.url}/upload`, { accept: HTML, 'if-none-match': etag, 'cache-control': 'no-cache' })).status, 200);
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

  it('answers asset revalidation with 304, HEAD with the length, ranges with 206, and compresses on request', async () => {
    const index = fs.readFileSync(path.join(webDir, 'index.html'), 'utf8');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index)![1];
    const onDisk = fs.readFileSync(path.join(webDir, script));
    const first = await fetch(`${t.url}${script}`, { headers: { 'accept-encoding': 'identity' } });
    assert.deepEqual(Buffer.from(await first.arrayBuffer()), onDisk);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(first.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(first.headers.get('vary'), 'Accept-Encoding');

    // node:http, not fetch: fetch adds `cache-control: no-cache` to a conditional request, which
    // asks for the body regardless (as @fastify/send has it).
    const notModified = await rawGet(`${t.url}${script}`, { 'if-none-match': etag });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.etag, etag);
    assert.equal(notModified.headers['content-type'], undefined);
    assert.equal(notModified.body.length, 0);
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-none-match': etag, 'cache-control': 'no-cache' })).status, 200);
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-none-match': '"other"' })).status, 200);
    // Compared weakly, in a list; If-Modified-Since counts only without If-None-Match.
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-none-match': `"other", ${etag.slice(2)}` })).status, 304);
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-none-match': '*' })).status, 304, '`*` matches any current representation');
    const lastModified = first.headers.get('last-modified')!;
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-modified-since': lastModified })).status, 304);
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-modified-since': new Date(Date.parse(lastModified) - 60_000).toUTCString() })).status, 200);
    assert.equal((await rawGet(`${t.url}${script}`, { 'if-none-match': '"other"', 'if-modified-since': lastModified })).status, 200);

    const head = await fetch(`${t.url}${script}`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(onDisk.length));
    assert.equal((await head.text()).length, 0);

    const range = await fetch(`${t.url}${script}`, { headers: { range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), `bytes 10-19/${onDisk.length}`);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), onDisk.subarray(10, 20));
    assert.equal(range.headers.get('etag'), etag, 'the same validator from memory and from disk');

    // The compressed bodies are made in the background after the first request: wait for them.
    let encoding: string | null = null;
    for (let i = 0; i < 100 && encoding !== 'br'; i++) {
      const res = await fetch(`${t.url}${script}`, { headers: { 'accept-encoding': 'gzip, br' } });
      encoding = res.headers.get('content-encoding');
      // fetch decodes the body: it must be the file, whatever the encoding.
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), onDisk);
      if (encoding !== 'br') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(encoding, 'br');
    const gz = await fetch(`${t.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.ok(Number(gz.headers.get('content-length')) < onDisk.length);
    assert.deepEqual(Buffer.from(await gz.arrayBuffer()), onDisk);
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
