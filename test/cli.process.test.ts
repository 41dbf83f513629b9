// The `nova` executable as operators run it: migrate, serve, and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { spawnNova } from './helpers/processes.js';

describe('nova CLI', () => {
  it('migrate creates the SQLite database under DATA_DIR and is idempotent', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-cli-'));
    const run = () => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { env: { ...process.env, DATA_DIR: dir }, encoding: 'utf8', timeout: 60_000 });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /applied: 0001_accounts/);
    assert.ok(fs.existsSync(path.join(dir, 'nova.db')));
    const second = run();
    assert.equal(second.status, 0);
    assert.match(second.stdout, /up to date/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serve answers /healthz and exits 0 on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-cli-'));
    const nova = await spawnNova(['serve'], { DATA_DIR: dir });
    assert.ok(nova.url);
    const res = await fetch(`${nova.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await nova.kill('SIGTERM'), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('unknown commands print usage and exit 2', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'frobnicate'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 2);
    assert.match(res.stderr, /Usage: nova/);
  });
});
