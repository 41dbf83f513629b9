// The in-memory cache of the built app's assets (src/web/web.assets.ts): it notices a rebuilt or
// deleted file, refuses names outside the folder or too large to hold, and chooses an encoding the
// client accepts. HTTP behaviour (304, HEAD, ranges, encodings) is in test/web.serve.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { AssetCache, chooseEncoding } from '../src/web/web.assets.js';

describe('web asset cache', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-assets-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cache = (checkIntervalMs: number) => new AssetCache(dir, { cacheControl: 'public, max-age=31536000, immutable', checkIntervalMs });

  it('holds a file with the headers @fastify/send would send, and gzip and brotli bodies of it', async () => {
    const body = 'export const x = 1;\n'.repeat(200);
    fs.writeFileSync(path.join(dir, 'app-AbC123.js'), body);
    const c = cache(1000);
    const a = await c.get('app-AbC123.js');
    assert.ok(a);
    const st = fs.statSync(path.join(dir, 'app-AbC123.js'));
    assert.equal(a.headers.etag, `W/"${st.size.toString(16)}-${st.mtime.getTime().toString(16)}"`);
    assert.equal(a.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(a.headers['last-modified'], st.mtime.toUTCString());
    assert.equal(a.headers.vary, 'Accept-Encoding');
    assert.equal(a.body.toString(), body);
    await c.settled();
    assert.equal(zlib.brotliDecompressSync(a.br!).toString(), body);
    assert.equal(zlib.gunzipSync(a.gzip!).toString(), body);
    assert.equal(c.fresh('app-AbC123.js'), a, 'held without I/O within the interval');
  });

  it('notices a rebuilt file and a deleted one', async () => {
    const file = path.join(dir, 'chunk-Re1.js');
    fs.writeFileSync(file, 'one');
    const c = cache(0);
    assert.equal((await c.get('chunk-Re1.js'))?.body.toString(), 'one');
    fs.writeFileSync(file, 'two, longer');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const rebuilt = await c.get('chunk-Re1.js');
    assert.equal(rebuilt?.body.toString(), 'two, longer');
    fs.rmSync(file);
    assert.equal(await c.get('chunk-Re1.js'), null);
    assert.equal(c.fresh('chunk-Re1.js'), undefined);
  });

  it('holds nothing for names that leave the folder, dotfiles, directories and missing files', async () => {
    fs.writeFileSync(path.join(dir, '.secret'), 'x');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sub', 'font-1.woff2'), 'w');
    const c = cache(1000);
    for (const name of ['../index.html', 'sub/../../x', '.secret', 'sub/.hidden', 'sub', 'nope-1.js', '', '/etc/passwd']) {
      assert.equal(await c.get(name), null, name);
    }
    const nested = await c.get('sub/font-1.woff2');
    assert.equal(nested?.headers['content-type'], 'font/woff2');
    assert.equal(nested?.headers.vary, undefined, 'not compressible: no Vary, no compressed bodies');
  });

  it('chooses brotli, then gzip, never an encoding refused with q=0', () => {
    const a = { br: Buffer.from('b'), gzip: Buffer.from('g') } as Parameters<typeof chooseEncoding>[1];
    assert.equal(chooseEncoding('gzip, deflate, br', a), 'br');
    assert.equal(chooseEncoding('gzip', a), 'gzip');
    assert.equal(chooseEncoding('br;q=0, gzip;q=0.5', a), 'gzip');
    assert.equal(chooseEncoding('*;q=0', a), 'identity');
    assert.equal(chooseEncoding('*', a), 'br');
    assert.equal(chooseEncoding(undefined, a), 'identity');
    assert.equal(chooseEncoding('br', { gzip: Buffer.from('g') } as Parameters<typeof chooseEncoding>[1]), 'identity');
  });
});
