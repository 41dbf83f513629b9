// Which ffmpeg Nova runs when none is configured or on PATH: the build shipped in the optional npm
// package is named with its version in a warning at start, and NODE_ENV=production refuses it
// (an old build decoding untrusted uploads) unless FFMPEG_ALLOW_BUNDLED=true.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { bundledToolPath, resolveMediaTools, toolVersion } from '../../src/media/ffmpeg.binaries.js';
import { MediaError } from '../../src/media/media.errors.js';
import { spawnNova } from '../helpers/processes.js';

const bundled = bundledToolPath('ffmpeg');
const skip = bundled ? false : 'the optional package @ffmpeg-installer/ffmpeg is not installed for this platform';
if (skip) console.log(`# skip: ${skip}`);

describe('bundled ffmpeg', { skip }, () => {
  let emptyBin: string;
  let dataDir: string;
  before(() => {
    // A PATH with no ffmpeg on it, as on a machine with only Node.
    emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-nobin-'));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bundled-'));
  });
  after(() => {
    fs.rmSync(emptyBin, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const startWorker = async (env: Record<string, string>) => spawnNova(['worker'], { PATH: emptyBin, DATA_DIR: path.join(dataDir, String(Math.random()).slice(2)), ...env });
  const entries = (logs: string[]) =>
    logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as { level: number; msg: string; version?: string }];
      } catch {
        return [];
      }
    });

  it('config: allowed by default, refused under NODE_ENV=production, FFMPEG_ALLOW_BUNDLED decides when set', () => {
    assert.equal(loadConfig({}).ffmpegAllowBundled, true);
    assert.equal(loadConfig({ NODE_ENV: 'production' }).ffmpegAllowBundled, false);
    assert.equal(loadConfig({ NODE_ENV: 'production', FFMPEG_ALLOW_BUNDLED: 'true' }).ffmpegAllowBundled, true);
    assert.equal(loadConfig({ FFMPEG_ALLOW_BUNDLED: 'false' }).ffmpegAllowBundled, false);
    assert.throws(
      () => loadConfig({ FFMPEG_ALLOW_BUNDLED: 'maybe' }),
      (e: unknown) => e instanceof ConfigError && /FFMPEG_ALLOW_BUNDLED/.test(e.message),
    );
  });

  it('resolution falls back to the package when allowed and refuses it, naming its version, when not', () => {
    const saved = process.env.PATH;
    process.env.PATH = emptyBin;
    try {
      assert.equal(resolveMediaTools({ allowBundled: true }).ffmpeg, bundled);
      const { version } = toolVersion(bundled!);
      assert.throws(
        () => resolveMediaTools({ allowBundled: false }),
        (e: unknown) => e instanceof MediaError && e.code === 'tool_missing' && e.reason.includes(version) && /NODE_ENV=production/.test(e.reason) && /FFMPEG_ALLOW_BUNDLED=true/.test(e.reason),
      );
      // An explicit path is the operator's choice and is never refused.
      assert.equal(resolveMediaTools({ ffmpegPath: bundled, ffprobePath: bundledToolPath('ffprobe'), allowBundled: false }).ffmpeg, bundled);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('a worker warns at start with the bundled version; in production it logs the refusal instead', async () => {
    const { version, year } = toolVersion(bundled!);
    assert.notEqual(version, 'unknown');
    const dev = await startWorker({ NODE_ENV: 'development' });
    try {
      const warn = entries(dev.logs).find((e) => e.level === 40 && /^ffmpeg: using the build bundled in @ffmpeg-installer\/ffmpeg/.test(e.msg));
      assert.ok(warn, `no warning about the bundled ffmpeg in:\n${dev.logs.join('\n')}`);
      assert.ok(warn.msg.includes(version) && (year === null || warn.msg.includes(String(year))), warn.msg);
      assert.ok(!entries(dev.logs).some((e) => e.level >= 50), 'no error outside production');
    } finally {
      await dev.kill();
    }
    const prod = await startWorker({ NODE_ENV: 'production' });
    try {
      const err = entries(prod.logs).find((e) => e.level === 50 && /ffmpeg unavailable/.test(e.msg));
      assert.ok(err, `no refusal in:\n${prod.logs.join('\n')}`);
      assert.match(err.msg, /refuses the ffmpeg bundled in @ffmpeg-installer\/ffmpeg/);
      assert.ok(err.msg.includes(version));
    } finally {
      await prod.kill();
    }
    const allowed = await startWorker({ NODE_ENV: 'production', FFMPEG_ALLOW_BUNDLED: 'true' });
    try {
      assert.ok(
        entries(allowed.logs).some((e) => e.level === 40 && e.msg.includes(version)),
        'allowed: the warning, not a refusal',
      );
      assert.ok(!entries(allowed.logs).some((e) => e.level === 50 && /ffmpeg unavailable/.test(e.msg)));
    } finally {
      await allowed.kill();
    }
  });

  it('with an ffmpeg on PATH nothing is said about the bundled one', { skip: spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 ? false : 'no ffmpeg on PATH here' }, async () => {
    const w = await spawnNova(['worker'], { DATA_DIR: path.join(dataDir, 'system'), NODE_ENV: 'production' });
    try {
      assert.ok(!entries(w.logs).some((e) => /bundled|ffmpeg unavailable/.test(e.msg)), w.logs.join('\n'));
    } finally {
      await w.kill();
    }
  });
});
