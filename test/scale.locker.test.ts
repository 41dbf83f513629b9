// The tus upload locker shared through Redis, as two API nodes use it: each "node" here is its own
// RedisLocker on its own connection to the machine's real Redis (unique key prefix per run).
// A second request asks the holder to let go, waits for it, and never holds the lock at once with it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ERRORS } from '@tus/server';
import { createLogger } from '../src/infra/logger.js';
import { RedisLocker } from '../src/uploads/uploads.locker.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';

const redisUrl = new URL(REDIS_TEST_URL);
const skip = await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379));
const logger = createLogger('silent');

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('tus upload locks shared through Redis', { skip }, () => {
  const prefix = `nova-test-lock-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const connections: Redis[] = [];
  const lockers: RedisLocker[] = [];
  const node = (opts: { ttlMs?: number; acquireTimeoutMs?: number } = {}) => {
    const r = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: null });
    connections.push(r);
    const l = new RedisLocker(r, { prefix, ttlMs: opts.ttlMs ?? 5000, acquireTimeoutMs: opts.acquireTimeoutMs }, logger);
    lockers.push(l);
    return l;
  };
  let a: RedisLocker;
  let b: RedisLocker;

  before(async () => {
    a = node();
    b = node();
    await Promise.all([a.listen(), b.listen()]);
  });
  after(async () => {
    for (const l of lockers) await l.close();
    const keys = await connections[0].keys(`${prefix}:*`);
    if (keys.length) await connections[0].del(...keys);
    for (const r of connections) await r.quit();
  });

  it('a request on another node asks the holder to release, then gets the lock when it does', async () => {
    const held = a.newLock('upload-1');
    let asked = 0;
    await held.lock(new AbortController().signal, () => {
      asked++;
    });
    assert.equal(await connections[0].exists(a.keyOf('upload-1')), 1);
    let acquired = false;
    const second = b.newLock('upload-1');
    const waiting = second
      .lock(new AbortController().signal, () => {})
      .then(() => {
        acquired = true;
      });
    await eventually(() => asked > 0, 'the release request to reach the holder');
    assert.equal(acquired, false, 'the lock is not granted while its holder still has it');
    await held.unlock();
    await waiting;
    assert.equal(acquired, true);
    await second.unlock();
    assert.equal(await connections[0].exists(a.keyOf('upload-1')), 0);
  });

  it('never lets two nodes hold one upload at once', async () => {
    let inside = 0;
    let overlaps = 0;
    let entries = 0;
    const worker = async (locker: RedisLocker) => {
      for (let i = 0; i < 15; i++) {
        const lock = locker.newLock('upload-2');
        await lock.lock(new AbortController().signal, () => {});
        inside++;
        entries++;
        if (inside > 1) overlaps++;
        await new Promise((r) => setTimeout(r, 2));
        inside--;
        await lock.unlock();
      }
    };
    await Promise.all([worker(a), worker(b), worker(a), worker(b)]);
    assert.equal(entries, 60);
    assert.equal(overlaps, 0);
  });

  it('a lock whose node died (never released, never renewed) expires after its TTL', async () => {
    await connections[0].set(a.keyOf('upload-3'), 'a-dead-node', 'PX', 800);
    const lock = b.newLock('upload-3');
    await lock.lock(new AbortController().signal, () => {});
    assert.notEqual(await connections[0].get(a.keyOf('upload-3')), 'a-dead-node');
    await lock.unlock();
  });

  it('a held lock is renewed past its TTL while its request runs', async () => {
    const short = node({ ttlMs: 600 });
    const lock = short.newLock('upload-4');
    await lock.lock(new AbortController().signal, () => {});
    const key = short.keyOf('upload-4');
    const token = await connections[0].get(key);
    // Well past several TTLs, the same holder still has it.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await connections[0].get(key), token);
    await lock.unlock();
    assert.equal(await connections[0].exists(key), 0);
  });

  it("gives up with tus's lock timeout when the holder does not let go, and stops waiting when aborted", async () => {
    const impatient = node({ acquireTimeoutMs: 500 });
    const stubborn = a.newLock('upload-5');
    await stubborn.lock(new AbortController().signal, () => {});
    await assert.rejects(
      impatient.newLock('upload-5').lock(new AbortController().signal, () => {}),
      (err) => err === ERRORS.ERR_LOCK_TIMEOUT,
    );
    const ac = new AbortController();
    const pending = b.newLock('upload-5').lock(ac.signal, () => {});
    ac.abort();
    await assert.rejects(pending, (err) => err === ERRORS.ABORTED);
    await stubborn.unlock();
  });
});
