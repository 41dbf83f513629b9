// Nova scaled out on Kafka: two `nova serve --no-worker` nodes and two `nova worker` processes on
// this machine's Postgres (a throw-away database), Redis (a unique prefix) and the run's Kafka broker
// (unique topic and group prefixes). A chat message is one streams.chat record; every node consumes
// in the same consumer groups, so a video.ready reaches a webhook once; a node SIGKILLed while events
// flow loses none of them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { Redis } from 'ioredis';
import { ChatSocket } from '../src/client/chat.client.js';
import { NovaClient } from '../src/client/nova-client.js';
import { createWebhook } from '../src/client/webhooks.client.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { REDIS_TEST_URL, requireServer } from './helpers/env.js';
import { testKafka, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';
import { killLeftovers, spawnNova, type NovaProcess } from './helpers/processes.js';

const redisUrl = new URL(REDIS_TEST_URL);
const kafka = await testKafka();
const skip = (typeof kafka === 'string' ? kafka : false) || (await postgresSkipReason()) || (await requireServer('Redis', redisUrl.hostname, Number(redisUrl.port || 6379)));
const BROKERS = typeof kafka === 'string' ? [] : kafka;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('2 API nodes + 2 workers on Postgres, Redis and Kafka', { skip }, () => {
  const prefix = uniquePrefix('cluster');
  const redisPrefix = prefix.slice(0, -1);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-kcluster-'));
  const processes: NovaProcess[] = [];
  let pg: TestDatabase;
  let db: Db;
  let admin: Admin;
  let apiA: NovaProcess;
  let apiB: NovaProcess;
  const hits: Array<{ id: string }> = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.end('ok');
    });
  });

  const spawn = async (name: string, args: string[], env: Record<string, string>): Promise<NovaProcess> => {
    const dataDir = path.join(tmp, name);
    fs.mkdirSync(dataDir, { recursive: true });
    // Generous: four Node processes starting on a small, shared machine.
    const p = await spawnNova(args, { ...env, DATA_DIR: dataDir }, 240_000);
    processes.push(p);
    return p;
  };
  const endOffsets = async (topic: string) => {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    const ends = await admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: meta.topics.get(topic)!.partitionsCount }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
    });
    return ends[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
  };

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    fs.mkdirSync(path.join(tmp, 'models'));
    pg = await createTestDatabase();
    admin = new Admin({ clientId: 'nova-test', bootstrapBrokers: BROKERS });
    const env = {
      DATABASE_URL: pg.url,
      REDIS_URL: REDIS_TEST_URL,
      KAFKA_BROKERS: BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: prefix,
      QUEUE_PREFIX: redisPrefix,
      CHAT_REDIS_PREFIX: `${redisPrefix}:chat:`,
      TRENDING_REDIS_PREFIX: `${redisPrefix}:trending:`,
      OUTBOX_POLL_INTERVAL_MS: '100',
      WEBHOOKS_CONCURRENCY: '16',
      MODELS_DIR: path.join(tmp, 'models'),
    };
    // The first node migrates the fresh database; the others start one after another on it.
    apiA = await spawn('api-a', ['serve', '--no-worker'], env);
    apiB = await spawn('api-b', ['serve', '--no-worker'], env);
    await spawn('worker-1', ['worker'], env);
    await spawn('worker-2', ['worker'], env);
    db = openDatabase({ databaseUrl: pg.url, sqlitePath: '' });
  });

  after(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    killLeftovers(tmp);
    await db?.close();
    await admin?.close();
    await pg?.drop();
    const r = new Redis(REDIS_TEST_URL);
    const keys = await r.keys(`${redisPrefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    receiver.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a chat message sent on node A is one streams.chat record', async () => {
    const a = new NovaClient(apiA.url!);
    const { client, user } = await a.newUser('chatter');
    const created = await client.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'on Kafka' });
    assert.equal(created.status, 201);
    const socket = await ChatSocket.open(apiA.url!, created.body.stream.id, { token: client.token });
    try {
      await socket.history();
      socket.send('hello, Kafka');
      const echo = await socket.message((m) => m.message === 'hello, Kafka');
      assert.equal(echo.user_id, user.id);
      await until('the chat event on Kafka', async () => (await endOffsets(`${prefix}streams.chat`).catch(() => 0)) >= 1);
      // Give a second relay every chance to publish it again: it must not.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await endOffsets(`${prefix}streams.chat`), 1);
    } finally {
      await socket.close();
    }
  });

  it('every node consumes in one group: each video.ready reaches the webhook once, also while a node is SIGKILLed', async () => {
    const { client, user } = await new NovaClient(apiA.url!).newUser('hooked');
    assert.equal((await createWebhook(client, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, ['video.ready'])).status, 201);
    const group = `${prefix}webhooks`;
    await until('all four processes in the webhooks group', async () => {
      const groups = await admin.describeGroups({ groups: [group] }).catch(() => null);
      return (groups?.get(group)?.members.size ?? 0) === 4;
    });
    const ids: string[] = [];
    const write = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const key = `v-${ids.length % 12}`;
        const env = await db.kysely
          .transaction()
          .execute((trx) => appendEvent(trx, 'video.ready', key, { video_id: key, owner_id: user.id, duration_seconds: ids.length, renditions: 1, timestamp: new Date().toISOString() }));
        ids.push(env.event_id);
      }
    };
    await write(150);
    await until('deliveries under way', () => hits.length >= 50);
    await apiB.kill('SIGKILL');
    await write(150);
    await until('every event delivered', () => new Set(hits.map((h) => h.id)).size >= ids.length, 180_000);
    assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(ids), 'nothing lost');
    const rows = await db.kysely.selectFrom('webhook_deliveries').select('event_id').execute();
    assert.equal(rows.length, ids.length, 'one delivery per event although four processes consume');
    assert.equal(new Set(rows.map((r) => r.event_id)).size, ids.length);
  });
});
