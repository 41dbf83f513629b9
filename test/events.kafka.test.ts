// The Kafka adapter and Nova's events on a real Apache Kafka broker (test/helpers/kafka.ts): topics
// created with KAFKA_PARTITIONS, keys on the partitions Kafka's own Java producer picks, every event
// type read back by Kafka's own console consumer, rolled-back transactions never published,
// webhooks consuming from Kafka, and `nova events tail`. Each test has its own topic and group prefix.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { createWebhook } from '../src/client/webhooks.client.js';
import { loadConfig } from '../src/config.js';
import { TOPIC_OF, TOPICS, type EventEnvelope, type EventMap, type EventType, type Topic } from '../src/events/events.types.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import type { ReceivedMessage } from '../src/infra/bus/bus.js';
import { KafkaBus } from '../src/infra/bus/kafka.bus.js';
import { createLogger } from '../src/infra/logger.js';
import { KAFKA_SCRIPT, testKafka, uniquePrefix } from './helpers/kafka.js';
import { startTestNova } from './helpers/nova.js';

const run = promisify(execFile);
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const kafka = await testKafka();
const BROKERS = typeof kafka === 'string' ? [] : kafka;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ConsoleRecord {
  partition: number;
  key: string;
  value: string;
}

/**
 * Reads `count` records from the beginning of the topics matching `include` (a regular expression)
 * with Kafka's own Java console consumer.
 */
async function consoleConsume(include: string, count: number): Promise<ConsoleRecord[]> {
  const { stdout } = await run(
    'bash',
    [
      KAFKA_SCRIPT,
      'run',
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      BROKERS.join(','),
      '--include',
      include,
      '--from-beginning',
      '--max-messages',
      String(count),
      '--timeout-ms',
      '60000',
      '--property',
      'print.partition=true',
      '--property',
      'print.key=true',
      '--property',
      'key.separator=\t',
    ],
    { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // "Partition:N<TAB>key<TAB>value"
      const [p, key, ...rest] = line.split('\t');
      return { partition: Number(p.replace('Partition:', '')), key, value: rest.join('\t') };
    });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One payload per event type: the type map makes a new event type fail to compile here until added. */
function samples(ids: { video: string; stream: string; user: string; followee: string }): { [K in EventType]: EventMap[K] } {
  const timestamp = new Date().toISOString();
  const v = { video_id: ids.video, owner_id: ids.user, timestamp };
  return {
    'stream.started': { stream_id: ids.stream, creator_id: ids.user, title: 'live', timestamp },
    'stream.ended': { stream_id: ids.stream, creator_id: ids.user, duration_seconds: 61, viewer_count: 3, timestamp },
    'chat.message': { stream_id: ids.stream, user_id: ids.user, username: 'ada', message: 'hi', created_at: timestamp, comment_id: 'c-1' },
    'chat.deleted': { stream_id: ids.stream, comment_id: 'c-1', timestamp },
    'video.uploaded': { ...v, size_bytes: 1234 },
    'video.upload.completed': { ...v, size_bytes: 1234 },
    'video.progress': { ...v, stage: 'transcode', progress: 50 },
    'video.ready': { ...v, duration_seconds: 2, renditions: 1 },
    'video.failed': { ...v, error: 'broken' },
    'video.deleted': v,
    'video.viewed': { video_id: ids.video, viewer_id: null, timestamp },
    'video.liked': { video_id: ids.video, user_id: ids.user, liked: true, timestamp },
    'experiment.stopped': { experiment_key: 'exp-1', reason: 'guardrail', guardrails: [{ variant: 'treatment', metric: 'rebuffer_ratio', lift: 0.2, ci_low: 0.1, max_regression: 0.05 }], timestamp },
    'video.watched': { video_id: ids.video, user_id: ids.user, seconds: 12, timestamp },
    'video.updated': { ...v, title: 'renamed', visibility: 'public', tags: ['a'], changed: ['title'], timestamp },
    'user.followed': { follower_id: ids.user, followee_id: ids.followee, timestamp },
    'user.unfollowed': { follower_id: ids.user, followee_id: ids.followee, timestamp },
  };
}

/** The payload field each topic's records are keyed by (the entity whose events keep their order). */
const KEY_FIELD: Record<Topic, string> = {
  'streams.events': 'stream_id',
  'streams.chat': 'stream_id',
  'videos.events': 'video_id',
  'users.events': 'followee_id',
  'experiments.events': 'experiment_key',
};

/** Fields the public contract (shared API.md) fixes per type, beyond the envelope. */
const CONTRACT: Partial<Record<EventType, string[]>> = {
  'stream.started': ['stream_id', 'creator_id', 'title', 'timestamp'],
  'stream.ended': ['stream_id', 'duration_seconds', 'viewer_count', 'timestamp'],
  'chat.message': ['stream_id', 'user_id', 'username', 'message', 'created_at', 'comment_id'],
  'chat.deleted': ['stream_id', 'comment_id'],
};

describe('Kafka on a real broker', { skip: typeof kafka === 'string' ? kafka : false }, () => {
  let admin: Admin;
  before(() => {
    admin = new Admin({ clientId: 'nova-test', bootstrapBrokers: BROKERS });
  });
  after(async () => {
    await admin?.close();
  });

  it('creates topics with KAFKA_PARTITIONS, produces keyed records on the partitions Java picks, consumes in order per key', async () => {
    const prefix = uniquePrefix('bus');
    const config = loadConfig({ KAFKA_BROKERS: BROKERS.join(','), KAFKA_PARTITIONS: '4', KAFKA_GROUP_PREFIX: prefix });
    const bus = new KafkaBus({ brokers: BROKERS, topicPrefix: prefix, topics: ['streams.events', 'streams.chat', 'videos.events'], kafka: config.kafka, logger });
    const received: ReceivedMessage[] = [];
    const sub = bus.subscribe(['videos.events', 'streams.chat'], 'test-group', async (batch) => void received.push(...batch));
    // A second group whose handler holds its first batch: nothing it reads is committed until the gate opens.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const stalled = bus.subscribe(['videos.events'], 'stalled-group', () => gate);
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
      const meta = await admin.metadata({ topics: ['streams.events', 'streams.chat', 'videos.events'].map((t) => `${prefix}${t}`) });
      for (const [name, t] of meta.topics) assert.equal(t.partitionsCount, 4, `${name} has KAFKA_PARTITIONS partitions`);
      // The group commits after handling, asynchronously: wait for the commits to reach the broker.
      const committedOffsets = async () => {
        const groups = await admin.listConsumerGroupOffsets({ groups: [`${prefix}test-group`] });
        return groups[0].topics.flatMap((t) => t.partitions).reduce((n, p) => n + Number(p.committedOffset > 0n ? p.committedOffset : 0n), 0);
      };
      await until('the group committed every record it handled', async () => (await committedOffsets()) >= 60);
      assert.equal(await committedOffsets(), 60, 'the group committed every record it handled, once');
      // The lag metric: records on the group's topics not yet committed. 40 of the 60 went to videos.events.
      const lagOf = async () => Object.fromEntries((await bus.consumerLag()).map((g) => [g.group.slice(prefix.length), g.lag]));
      assert.deepEqual(await lagOf(), { 'test-group': 0, 'stalled-group': 40 }, 'lag per group: caught up, and held');
      openGate();
      await until('the held group to commit', async () => (await lagOf())['stalled-group'] === 0);
      await bus.ping();

      // Kafka's own producer (Java, default partitioner) and Nova place the same keys alike.
      const keys = Array.from({ length: 24 }, (_, i) => `0190d700-3c4d-7e5f-8a9b-${String(i).padStart(12, '0')}`);
      const javaTopic = `${prefix}java`;
      await admin.createTopics({ topics: [javaTopic], partitions: 6, replicas: 1 });
      await new Promise<void>((resolve, reject) => {
        const p = spawn(
          'bash',
          [
            KAFKA_SCRIPT,
            'run',
            'org.apache.kafka.tools.ConsoleProducer',
            '--bootstrap-server',
            BROKERS.join(','),
            '--topic',
            javaTopic,
            '--property',
            'parse.key=true',
            '--property',
            'key.separator=\t',
          ],
          { stdio: ['pipe', 'ignore', 'inherit'] },
        );
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`console producer exited ${code}`))));
        p.stdin.end(keys.map((k) => `${k}\tjava`).join('\n') + '\n');
      });
      const novaTopic = 'videos.events';
      const sixBus = new KafkaBus({ brokers: BROKERS, topicPrefix: `${prefix}six.`, topics: [novaTopic], kafka: { ...config.kafka, partitions: 6 }, logger });
      await sixBus.publishBatch(keys.map((key) => ({ topic: novaTopic, key, value: 'nova' })));
      await sixBus.close();
      const both = await consoleConsume(`${escape(javaTopic)}|${escape(`${prefix}six.${novaTopic}`)}`, 2 * keys.length);
      const java = both.filter((r) => r.value === 'java');
      const nova = both.filter((r) => r.value === 'nova');
      assert.equal(nova.length, keys.length);
      const where = (records: ConsoleRecord[]) => Object.fromEntries(records.map((r) => [r.key, r.partition]));
      assert.deepEqual(where(nova), where(java), 'each key on the partition Java puts it on');
      assert.ok(new Set(Object.values(where(java))).size > 1, 'the keys spread over several partitions');
    } finally {
      openGate();
      await Promise.all([sub.close(), stalled.close()]);
      await bus.close();
    }
  });

  it('every event type reaches its topic with the contract fields, keyed by its entity; a rolled-back change publishes nothing; nova events tail prints records', async () => {
    const prefix = uniquePrefix('types');
    const t = await startTestNova({ KAFKA_BROKERS: BROKERS.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: prefix });
    try {
      const db = t.nova.container.db.kysely;
      const ids = {
        video: '0190d700-3c4d-7e5f-8a9b-0c1d2e3f4a5b',
        stream: '0190d6f2-8a51-7c3e-9a1b-3f6a2c1d4e5f',
        user: '0190d6f0-1b2c-7d3e-8f4a-5b6c7d8e9f00',
        followee: '0190d6f0-1b2c-7d3e-8f4a-5b6c7d8e9f01',
      };
      const payloads = samples(ids);
      const types = Object.keys(TOPIC_OF) as EventType[];
      const rolledBack = await db
        .transaction()
        .execute(async (trx) => {
          const env = await appendEvent(trx, 'video.deleted', ids.video, payloads['video.deleted']);
          throw Object.assign(new Error('roll back'), { env });
        })
        .catch((err: { env: EventEnvelope }) => err.env);
      const sent: EventEnvelope[] = [];
      for (const type of types) {
        const key = String((payloads[type] as Record<string, unknown>)[KEY_FIELD[TOPIC_OF[type]]]);
        sent.push(await db.transaction().execute((trx) => appendEvent(trx, type, key, payloads[type] as never)));
      }
      await until('the outbox to drain', async () => (await db.selectFrom('outbox').select('seq').where('delivered_at', 'is', null).execute()).length === 0);

      // The console consumer does not print a record's topic: each record's event_type names it.
      const records = await consoleConsume(`${escape(prefix)}(${TOPICS.map(escape).join('|')})`, sent.length);
      assert.equal(records.length, sent.length, 'every event, nothing more');
      const seen: EventEnvelope[] = [];
      for (const r of records) {
        const env = JSON.parse(r.value) as EventEnvelope & Record<string, unknown>;
        assert.equal(r.key, env[KEY_FIELD[TOPIC_OF[env.event_type]]], `${env.event_type} keyed by its entity`);
        for (const f of ['event_id', 'event_type', 'schema_version', 'occurred_at', ...(CONTRACT[env.event_type] ?? [KEY_FIELD[TOPIC_OF[env.event_type]], 'timestamp'])]) {
          assert.ok(env[f] !== undefined, `${env.event_type} carries ${f}`);
        }
        seen.push(env);
      }
      // Each topic holds exactly as many records as it has events.
      const meta = await admin.metadata({ topics: TOPICS.map((t) => `${prefix}${t}`) });
      const ends = await admin.listOffsets({
        topics: [...meta.topics].map(([name, t]) => ({ name, partitions: Array.from({ length: t.partitionsCount }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) })),
      });
      for (const t of ends) {
        const topic = t.name.slice(prefix.length);
        const n = t.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
        assert.equal(n, sent.filter((e) => TOPIC_OF[e.event_type] === topic).length, `${topic} holds its events only`);
      }
      assert.deepEqual(new Set(seen.map((e) => e.event_type)), new Set(types), 'every event type arrived');
      assert.ok(!seen.some((e) => e.event_id === rolledBack.event_id), 'the rolled-back event was never published');

      // The operator's view: JSON lines of the topic from its beginning.
      const tail = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'events', 'tail', '--topic', 'streams.chat', '--from-beginning', '--limit', '2'], {
        cwd: path.resolve(path.dirname(new URL(import.meta.url).pathname), '..'),
        env: { ...process.env, KAFKA_BROKERS: BROKERS.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: prefix, LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      readline.createInterface({ input: tail.stdout }).on('line', (l) => lines.push(l));
      const code = await new Promise<number | null>((resolve) => tail.on('exit', resolve));
      assert.equal(code, 0);
      const tailed = lines.map((l) => JSON.parse(l) as { topic: string; key: string; partition: number; offset: string; value: EventEnvelope });
      assert.deepEqual(
        tailed.map((r) => r.value.event_type),
        ['chat.message', 'chat.deleted'],
      );
      assert.ok(tailed.every((r) => r.topic === `${prefix}streams.chat` && r.key === ids.stream && typeof r.partition === 'number'));
    } finally {
      await t.stop();
    }
  });

  it('Nova relays the outbox to Kafka and its webhooks consume from Kafka; metrics show produce latency and consumer lag', async () => {
    const prefix = uniquePrefix('hooks');
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
    const t = await startTestNova({ KAFKA_BROKERS: BROKERS.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: prefix });
    try {
      assert.equal((await t.client.get<{ checks: Record<string, string> }>('/readyz')).body.checks.kafka, 'up');
      const { client, user } = await t.client.newUser('kafka');
      assert.equal((await createWebhook(client, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, ['video.ready'])).status, 201);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const env = await t.nova.container.db.kysely
          .transaction()
          .execute((trx) => appendEvent(trx, 'video.ready', `kv-${i % 2}`, { video_id: `kv-${i % 2}`, owner_id: user.id, duration_seconds: i, renditions: 1, timestamp: new Date().toISOString() }));
        ids.push(env.event_id);
      }
      await until('the webhooks consumer (via Kafka) to deliver all 10', () => new Set(hits.map((h) => h.id)).size >= 10);
      assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(ids));
      const metrics = (await t.client.get<string>('/metrics')).body;
      assert.match(metrics, /^nova_outbox_publish_duration_seconds_count\{bus="kafka"\} [1-9]/m, 'produce latency is measured');
      assert.match(metrics, new RegExp(`^nova_kafka_consumer_lag\\{group="${prefix.replace(/\./g, '\\.')}webhooks"\\} \\d+`, 'm'), 'consumer lag per group');
    } finally {
      await t.stop();
      receiver.close();
    }
  });
});
