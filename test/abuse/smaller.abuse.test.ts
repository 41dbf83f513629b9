// Finding 9: scrypt at today's cost with rehash on login, engagement of a video the caller may not
// see is 404, metrics and health on their own port (also for workers), the documented signature
// check refuses malformed headers without throwing, and nova.db is readable by its owner only.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startTestNova } from '../helpers/nova.js';

describe('abuse: the smaller findings', () => {
  it('hashes at N=2^17 by default and rehashes an older, cheaper hash at the next login', async () => {
    assert.equal(loadConfig({}).http.passwordScryptLogN, 17);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-abuse-scrypt-'));
    try {
      const old = await startTestNova({ DATA_DIR: dataDir, PASSWORD_SCRYPT_LOG_N: '14' });
      const reg = await old.client.as(null).register('old_hash', 'password-123');
      assert.equal(reg.status, 201);
      await old.stop();
      const t = await startTestNova({ DATA_DIR: dataDir, PASSWORD_SCRYPT_LOG_N: '17' });
      try {
        const hashOf = async (name: string) => (await t.nova.container.db.kysely.selectFrom('users').select('password_hash').where('username', '=', name).executeTakeFirstOrThrow()).password_hash;
        assert.match(await hashOf('old_hash'), /^scrypt\$16384\$8\$1\$/);
        assert.equal((await t.client.as(null).login('old_hash', 'wrong-password')).status, 401);
        assert.match(await hashOf('old_hash'), /^scrypt\$16384\$/, 'a failed login changes nothing');
        assert.equal((await t.client.as(null).login('old_hash', 'password-123')).status, 200);
        assert.match(await hashOf('old_hash'), /^scrypt\$131072\$8\$1\$/);
        assert.equal((await t.client.as(null).login('old_hash', 'password-123')).status, 200, 'the new hash verifies');
        assert.equal((await t.client.as(null).register('new_hash', 'password-123')).status, 201);
        assert.match(await hashOf('new_hash'), /^scrypt\$131072\$8\$1\$/);
      } finally {
        await t.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 404 for the engagement of a video the caller may not see', async () => {
    const t = await startTestNova();
    try {
      const admin = (await t.client.newUser('admin')).client;
      const owner = (await t.client.newUser('owner')).client;
      const other = (await t.client.newUser('other')).client;
      const v = await owner.post<{ video: { id: string } }>('/api/v1/videos', { title: 'not ready yet' });
      const url = `/api/v1/videos/${v.body.video.id}/engagement`;
      for (const stranger of [t.client.as(null), other]) {
        const res = await stranger.get<{ detail: string }>(url);
        assert.equal(res.status, 404);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
      assert.equal((await owner.get(url)).status, 200);
      assert.equal((await admin.get(url)).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('serves /metrics, /healthz and /readyz on METRICS_PORT (API and worker processes); the API port drops /metrics', async () => {
    const api = await startTestNova({ METRICS_PORT: '0' });
    try {
      const ops = api.nova.opsUrl!;
      assert.ok(ops);
      const m = await fetch(`${ops}/metrics`);
      assert.equal(m.status, 200);
      assert.match(await m.text(), /nova_http_requests_total|nova_process_cpu/);
      assert.equal((await fetch(`${ops}/readyz`)).status, 200);
      assert.equal((await fetch(`${api.url}/metrics`)).status, 404);
      assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    } finally {
      await api.stop();
    }
    const worker = await startTestNova({ METRICS_PORT: '0' }, { api: false, worker: true });
    try {
      assert.equal(worker.nova.url, null);
      const ops = worker.nova.opsUrl!;
      for (const p of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(`${ops}${p}`)).status, 200, p);
    } finally {
      await worker.stop();
    }
  });

  it('the signature check in docs/events.md refuses malformed headers and never throws', async () => {
    const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/events.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Verifying the signature'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nova-sig-')), 'verify.ts');
    fs.writeFileSync(file, `${code}\nexport { verify };\n`);
    const { verify } = (await import(pathToFileURL(file).href)) as { verify: (secret: string, header: string, body: string) => boolean };
    const secret = 'whsec_test';
    const body = '{"id":"1"}';
    const t = Math.floor(Date.now() / 1000);
    const sig = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.equal(verify(secret, `t=${t},v1=${sig}`, body), true);
    for (const header of [
      '',
      ',',
      '=',
      't',
      't=',
      'v1=',
      `t=${t}`,
      `t=${t},v1=`,
      `t=${t},v1=${'z'.repeat(64)}`,
      `t=${t},v1=${'0'.repeat(63)}g`,
      `t=${t},v1=${sig.slice(0, 62)}`,
      `t=${t},v1=${sig}00`,
      `t=abc,v1=${sig}`,
      `t=${t}.5,v1=${sig}`,
      `t=1e3,v1=${sig}`,
      `t=${t},v1=${'é'.repeat(64)}`,
      `t=${t},v1=${sig.toUpperCase().replace(/./, 'Z')}`,
      't=99999999999999999999,v1=x',
      `t=${t - 3600},v1=${sig}`,
    ]) {
      assert.equal(verify(secret, header, body), false, header);
    }
  });

  it('creates nova.db with mode 0600 and narrows an existing wider one', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-abuse-mode-'));
    try {
      const t = await startTestNova({ DATA_DIR: dataDir });
      await t.stop({ keepData: true });
      const db = path.join(dataDir, 'nova.db');
      assert.equal(fs.statSync(db).mode & 0o777, 0o600);
      fs.chmodSync(db, 0o644);
      const again = await startTestNova({ DATA_DIR: dataDir });
      try {
        assert.equal(fs.statSync(db).mode & 0o777, 0o600);
        for (const extra of ['-wal', '-shm']) if (fs.existsSync(db + extra)) assert.equal(fs.statSync(db + extra).mode & 0o077, 0, extra);
      } finally {
        await again.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
