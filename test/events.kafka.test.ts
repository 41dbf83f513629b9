// The Kafka adapter against a real broker (KAFKA_BROKERS=host:port,…). No broker can be installed
// on the build machines, so without KAFKA_BROKERS this suite is skipped with one line; it never
// runs against a stand-in. Each run uses its own topic prefix and consumer groups.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createWebhook } from '../src/client/webhooks.client.js';
import type { EventEnvelope } from '../src/events/events.types.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import type { ReceivedMessage } from '../src/infra/bus/bus.js';
import { KafkaBus } from '../src/infra/bus/kafka.bus.js';
import { createLogger } from '../src/infra/logger.js';
import { startTestNova } from './helpers/nova.js';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const unique = () => `nova-t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.`;

describe('Kafka adapter against a real broker', { skip: BROKERS?.length ? false : 'KAFKA_BROKERS is not set: Kafka suite skipped (no broker on this machine)' }, () => {
  it('creates missing topics, produces keyed JSON and consumes it in order per key', async () => {
    const prefix = unique();
    const bus = new KafkaBus({ brokers: BROKERS!, topicPrefix: prefix, topics: ['streams.events', 'streams.chat', 'videos.events'], logger });
    const received: ReceivedMessage[] = [];
    const sub = bus.subscribe(['videos.events', 'streams.chat'], 'test-group', async (batch) => void received.push(...batch));
    try {
      const sent = Array.from({ length: 60 }, (_, i) => ({ topic: i % 3 === 0 ? 'streams.chat' : 'videos.events', key: `k${i % 5}`, value: JSON.stringify({ n: i }) }));
      await bus.publishBatch(sent.slice(0, 30));
      await bus.publishBatch(sent.slice(30));
      await until('all 60 messages', () => received.length >= 60);
      for (const topic of ['videos.events', 'streams.chat']) {
        for (let k = 0; k < 5; k++) {
          const got = received.filter((m) => m.topic === topic && m.key === `k${k}`).map((m) => (JSON.parse(m.value) as { n: number }).n);
          const want = sent.filter((m) => m.topic === topic && m.key === `k${k}`).map((m) => (JSON.parse(m.value) as { n: number }).n);
          assert.deepEqual(got, want, `${topic}/k${k} in order`);
        }
      }
      const admin = new Kafka({ brokers: BROKERS!, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const topics = await admin.listTopics();
      await admin.disconnect();
      for (const t of ['streams.events', 'streams.chat', 'videos.events']) assert.ok(topics.includes(`${prefix}${t}`), `${prefix}${t} was created`);
      await bus.ping();
    } finally {
      await sub.close();
      await bus.close();
    }
  });

  it('Nova relays the outbox to Kafka (keyed envelopes) and its webhooks consume from Kafka', async () => {
    const prefix = unique();
    const hits: Array<{ id: string }> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const t = await startTestNova({ KAFKA_BROKERS: BROKERS!.join(','), KAFKA_TOPIC_PREFIX: prefix });
    const raw = new Kafka({ brokers: BROKERS!, logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}raw` });
    const seen: Array<{ key: string; value: EventEnvelope }> = [];
    try {
      assert.equal((await t.client.get<{ checks: Record<string, string> }>('/readyz')).body.checks.kafka, 'up');
      const { client, user } = await t.client.newUser('kafka');
      assert.equal((await createWebhook(client, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, ['video.ready'])).status, 201);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const env = await t.nova.container.db.kysely.transaction().execute((trx) =>
          appendEvent(trx, 'video.ready', `kv-${i % 2}`, { video_id: `kv-${i % 2}`, owner_id: user.id, duration_seconds: i, renditions: 1, timestamp: new Date().toISOString() }),
        );
        ids.push(env.event_id);
      }
      await raw.connect();
      await raw.subscribe({ topic: `${prefix}videos.events`, fromBeginning: true });
      await raw.run({ eachMessage: async ({ message }) => void seen.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()) }) });
      await until('the 10 events on the topic', () => new Set(seen.map((s) => s.value.event_id)).size >= 10);
      for (const s of seen) {
        assert.equal(s.key, (s.value as EventEnvelope<'video.ready'>).video_id, 'keyed by video id');
        assert.equal(s.value.event_type, 'video.ready');
        assert.equal(s.value.schema_version, 1);
      }
      for (const key of ['kv-0', 'kv-1']) {
        const order = seen.filter((s) => s.key === key).map((s) => (s.value as EventEnvelope<'video.ready'>).duration_seconds);
        assert.deepEqual(order, [...order].sort((a, b) => (a ?? 0) - (b ?? 0)), `${key} in order`);
      }
      await until('the webhooks consumer (via Kafka) to deliver all 10', () => new Set(hits.map((h) => h.id)).size >= 10);
      assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(ids));
    } finally {
      await raw.disconnect().catch(() => {});
      await t.stop();
      receiver.close();
    }
  });
});
