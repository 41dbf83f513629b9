// Starts a real Nova (HTTP on a random port, its own data dir) for a test, from env-style settings
// so configuration parsing is exercised too.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/logger.js';
import type { CapabilityOptions } from '../../src/capabilities.js';
import { startNova, type RunningNova } from '../../src/server.js';
import { NovaClient } from '../../src/client/nova-client.js';
import type { VodServices } from '../../src/videos/videos.wiring.js';
import { createTestDatabase, postgresSkipReason } from './postgres.js';

/** The VOD services a running Nova wired into its videos capability (the same instances every route uses). */
export function vodOf(nova: RunningNova): VodServices {
  const videos = nova.capabilities.find((c): c is typeof c & { vod: VodServices } => c.name === 'videos' && 'vod' in c);
  if (!videos) throw new Error('this Nova has no videos capability');
  return videos.vod;
}

export interface TestNova {
  nova: RunningNova;
  url: string;
  client: NovaClient;
  dataDir: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

// Suites register many accounts: they hash at 2^14 (PASSWORD_SCRYPT_LOG_N) rather than the
// production 2^17, which test/accounts.test.ts and test/abuse cover.
export async function startTestNova(env: Record<string, string> = {}, roles = { api: true, worker: true }, options: CapabilityOptions = {}): Promise<TestNova> {
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nova-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RTMP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    FFMPEG_PRESET: 'ultrafast',
    REGISTER_MAX_PER_ADDRESS: '0',
    PASSWORD_SCRYPT_LOG_N: '14',
    DATA_DIR: dataDir,
    ...env,
  });
  const nova = await startNova(config, roles, createLogger(config.logLevel), options);
  const url = nova.url ?? '';
  return {
    nova,
    url,
    client: new NovaClient(url),
    dataDir,
    async stop(opts) {
      await nova.stop();
      if (!opts?.keepData && !env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestBackend = 'sqlite' | 'postgres';
export const TEST_BACKENDS: readonly TestBackend[] = ['sqlite', 'postgres'];

/**
 * Starts a Nova on SQLite, or on a throw-away database on the machine's Postgres that its stop()
 * drops. Returns the reason to skip instead when Postgres does not answer (outside CI only).
 */
export async function startTestNovaOn(backend: TestBackend, env: Record<string, string> = {}, options: CapabilityOptions = {}): Promise<TestNova | string> {
  if (backend === 'sqlite') return startTestNova(env, undefined, options);
  const skip = await postgresSkipReason();
  if (skip) return skip;
  const pg = await createTestDatabase();
  try {
    const t = await startTestNova({ ...env, DATABASE_URL: pg.url }, undefined, options);
    return {
      ...t,
      async stop(opts) {
        await t.stop(opts);
        await pg.drop();
      },
    };
  } catch (err) {
    await pg.drop();
    throw err;
  }
}
