// Finding 6: a client cannot choose the absolute URLs Nova hands out. X-Forwarded-Host/-Proto count
// only from proxies TRUST_PROXY names; PUBLIC_URL wins over both; production without PUBLIC_URL
// warns at start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startNova } from '../../src/server.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';

const EVIL = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

/** Creates a video and a tus upload for it, both with forged forwarded headers; returns the URLs handed out. */
async function urlsHandedOut(t: TestNova): Promise<{ uploadUrl: string; location: string }> {
  const user = (await t.client.newUser('fwd')).client;
  const created = await user.request<{ upload: { url: string } }>('POST', '/api/v1/videos', { title: 'forwarded' }, EVIL);
  assert.equal(created.status, 201);
  const res = await fetch(`${t.url}/api/v1/uploads/${created.body.upload.url.split('/').pop()}`, {
    method: 'POST',
    headers: { ...EVIL, authorization: `Bearer ${user.token}`, 'tus-resumable': '1.0.0', 'upload-length': '10' },
  });
  assert.equal(res.status, 201, await res.text());
  return { uploadUrl: created.body.upload.url, location: res.headers.get('location') ?? '' };
}

describe('abuse: forged forwarded headers', () => {
  it('are ignored without TRUST_PROXY: URLs name the address the client connected to', async () => {
    const t = await startTestNova();
    try {
      const { uploadUrl, location } = await urlsHandedOut(t);
      assert.ok(uploadUrl.startsWith(t.url), uploadUrl);
      assert.ok(location.startsWith(`${t.url}/api/v1/uploads/`), location);
      assert.doesNotMatch(location, /evil/);
    } finally {
      await t.stop();
    }
  });

  it('are believed from a trusted proxy (the same request, TRUST_PROXY=loopback)', async () => {
    const t = await startTestNova({ TRUST_PROXY: 'loopback' });
    try {
      const { uploadUrl, location } = await urlsHandedOut(t);
      assert.ok(uploadUrl.startsWith('https://evil.example/'), uploadUrl);
      assert.ok(location.startsWith('https://evil.example/api/v1/uploads/'), location);
    } finally {
      await t.stop();
    }
  });

  it('never override PUBLIC_URL, even from a trusted proxy', async () => {
    const t = await startTestNova({ TRUST_PROXY: 'loopback', PUBLIC_URL: 'https://videos.example.org' });
    try {
      const { uploadUrl, location } = await urlsHandedOut(t);
      assert.ok(uploadUrl.startsWith('https://videos.example.org/'), uploadUrl);
      assert.ok(location.startsWith('https://videos.example.org/api/v1/uploads/'), location);
    } finally {
      await t.stop();
    }
  });

  it('NODE_ENV=production without PUBLIC_URL logs a warning at start; with it, none', async () => {
    for (const publicUrl of [undefined, 'https://videos.example.org']) {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-abuse-fwd-'));
      const config = loadConfig({
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        RTMP_PORT: '0',
        DATA_DIR: dataDir,
        PASSWORD_SCRYPT_LOG_N: '14',
        ...(publicUrl ? { PUBLIC_URL: publicUrl } : {}),
      });
      const nova = await startNova(config, { api: true, worker: false }, pino({ level: 'warn' }, sink));
      await nova.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      const warned = lines.some((l) => /PUBLIC_URL is not set in production/.test(l));
      assert.equal(warned, publicUrl === undefined, lines.join(''));
    }
  });
});
