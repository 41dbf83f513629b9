// Abuse-limit counters on Redis: counts shared across processes, and while Redis is away (never
// reached, or gone after being up) every hit still answers and the limits hold in this process.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../src/shared/rate-limiter.js';
import { freePort } from './helpers/processes.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';

const FAIL_FAST = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, retryStrategy: () => 200 } as const;

function connect(url: string): Redis {
  const r = new Redis(url, FAIL_FAST);
  r.on('error', () => {});
  return r;
}

/** Reads a key through a connection of the test's own (one that waits to connect). */
async function valueOf(port: number, key: string): Promise<string | null> {
  const r = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
  try {
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

async function hits(limiter: RedisRateLimiter, key: string, n: number, limit: number): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await limiter.hit(key, limit, 60)).allowed);
  return out;
}

describe('rate limiter on Redis', () => {
  let skip: string | false = false;
  const prefix = `nova-test-rl-${process.pid}-${Date.now()}:`;
  const limiters: RedisRateLimiter[] = [];
  before(async () => {
    const u = new URL(REDIS_TEST_URL);
    skip = await requireServer('Redis', u.hostname, Number(u.port || 6379));
  });
  after(async () => {
    for (const l of limiters) await l.close();
  });

  it('shares one count between processes, and reset clears it', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const a = new RedisRateLimiter(connect(REDIS_TEST_URL), undefined, prefix);
    const b = new RedisRateLimiter(connect(REDIS_TEST_URL), undefined, prefix);
    limiters.push(a, b);
    assert.deepEqual([...(await hits(a, 'k', 2, 3)), ...(await hits(b, 'k', 2, 3))], [true, true, true, false]);
    await a.reset('k');
    assert.equal((await b.hit('k', 3, 60)).allowed, true);
  });

  it('answers from memory when Redis was never reached, and still limits', async () => {
    const limiter = new RedisRateLimiter(connect('redis://127.0.0.1:1'), undefined, prefix);
    limiters.push(limiter);
    assert.deepEqual(await hits(limiter, 'never', 3, 2), [true, true, false]);
  });

  it('answers from memory while Redis is down, and counts in Redis again once it is back', async (ctx) => {
    if (spawnSync('redis-server', ['--version']).status !== 0) return ctx.skip('no redis-server binary');
    const port = await freePort();
    const start = async (): Promise<ChildProcess> => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      while (!/Ready to accept connections/.test(out)) await once(child.stdout!, 'data');
      return child;
    };
    let server = await start();
    const conn = connect(`redis://127.0.0.1:${port}`);
    const limiter = new RedisRateLimiter(conn, undefined, prefix);
    limiters.push(limiter);
    try {
      assert.deepEqual(await hits(limiter, 'up', 2, 2), [true, true]);
      assert.equal(await valueOf(port, `${prefix}up`), '2');

      server.kill('SIGKILL');
      await once(server, 'exit');
      while (conn.status === 'ready') await new Promise((r) => setTimeout(r, 20));
      // Down: every hit answers, and a fresh key is limited in this process.
      assert.deepEqual(await hits(limiter, 'down', 3, 2), [true, true, false]);

      server = await start();
      while ((conn.status as string) !== 'ready') await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await hits(limiter, 'back', 1, 2), [true]);
      assert.equal(await valueOf(port, `${prefix}back`), '1');
    } finally {
      server.kill('SIGKILL');
    }
  });
});
