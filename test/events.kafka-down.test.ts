// Kafka going away under Nova, on a broker of this file's own (test/helpers/kafka.ts). A broker that
// is not there yet: Nova serves, /readyz names Kafka, the outbox holds every event, and all of them
// go out once the broker starts. A broker SIGKILLed mid-stream and back 20 s later: every event
// arrives, each key in order, repeats carry the same event_id, and Nova's consumers apply each once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { createWebhook } from '../src/client/webhooks.client.js';
import type { EventEnvelope } from '../src/events/events.types.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { KAFKA_SCRIPT, startBroker, testKafka, type TestBroker } from './helpers/kafka.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { freePort } from './helpers/processes.js';

const run = promisify(execFile);
const kafka = await testKafka();

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('Kafka going away under Nova', { skip: typeof kafka === 'string' ? kafka : false }, () => {
  const hits: Array<{ id: string }> = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.end('ok');
    });
  });
  let broker: TestBroker | null = null;
  let t: TestNova | null = null;
  let owner = '';
  const prefix = `nova-t-down-${Date.now().toString(36)}.`;

  after(async () => {
    await t?.stop();
    await broker?.stop();
    receiver.close();
  });

  const write = (key: string, n: number) =>
    t!.nova.container.db.kysely
      .transaction()
      .execute((trx) => appendEvent(trx, 'video.ready', key, { video_id: key, owner_id: owner, duration_seconds: n, renditions: 1, timestamp: new Date().toISOString() }));
  const processed = async () =>
    (
      await t!.nova.container.db.kysely
        .selectFrom('processed_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('consumer', '=', 'webhooks')
        .executeTakeFirstOrThrow()
    ).n;

  it('a broker that is not up yet: Nova serves, /readyz names Kafka, the outbox keeps every event until the broker starts', async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    t = await startTestNova({
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: prefix,
      OUTBOX_BACKOFF_MIN_MS: '50',
      OUTBOX_BACKOFF_MAX_MS: '1000',
      OUTBOX_POLL_INTERVAL_MS: '100',
      WEBHOOKS_CONCURRENCY: '16',
    });
    const { client, user } = await t.client.newUser('kdown');
    owner = user.id;
    assert.equal((await createWebhook(client, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, ['video.ready'])).status, 201);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await write(`kv-${i % 4}`, i)).event_id);
    await until('several failed relay rounds', async () => metric((await t!.client.get<string>('/metrics')).body, 'nova_outbox_publish_errors_total') >= 3);

    const metrics = (await t.client.get<string>('/metrics')).body;
    assert.equal(metric(metrics, 'nova_outbox_pending_events'), 20, 'all 20 events wait in the outbox');
    assert.ok(metric(metrics, 'nova_outbox_oldest_pending_age_seconds') > 0);
    const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['delivered_at', 'last_error']).execute();
    assert.ok(rows.length === 20 && rows.every((r) => r.delivered_at === null), 'nothing is marked delivered');
    assert.ok(
      rows.some((r) => r.last_error),
      'the publish error is recorded',
    );
    const ready = await t.client.get<{ checks: Record<string, string>; detail: string }>('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.kafka, 'down');
    assert.match(ready.body.detail, /kafka/);
    assert.equal((await client.me()).status, 200, 'requests are served while the broker is away');
    assert.equal(hits.length, 0);

    broker = await startBroker(port);
    await until('all 20 deliveries', () => new Set(hits.map((h) => h.id)).size >= 20);
    assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(ids));
    assert.equal((await t.client.get('/readyz')).status, 200);
  });

  it('a broker SIGKILLed mid-stream and restarted 20 s later: every event arrives, in order per key, each applied once', async () => {
    assert.ok(t && broker, 'runs after the first test');
    const TOTAL = 2000;
    const KEYS = 20;
    const sent = new Map<string, { key: string; n: number }>();
    const counters = new Array<number>(KEYS).fill(0);
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const k = sent.size % KEYS;
        const env = await write(`kill-${k}`, counters[k]++);
        sent.set(env.event_id, { key: `kill-${k}`, n: counters[k] - 1 });
      }
    };
    const before = await processed();
    await writeSome(400);
    await until('a few hundred events through Kafka', async () => (await processed()) - before >= 250);
    broker.kill();
    const killedAt = Date.now();
    await writeSome(TOTAL - 400);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - killedAt))));
    await broker.start();
    await until('every event applied by the webhooks consumer', async () => (await processed()) - before >= TOTAL, 180_000);
    await until('the outbox to drain', async () => (await t!.nova.container.db.kysely.selectFrom('outbox').select('seq').where('delivered_at', 'is', null).execute()).length === 0);

    // What a plain consumer finds on the topic: read it all with Kafka's own console consumer.
    const admin = new Admin({ clientId: 'nova-test', bootstrapBrokers: broker.brokers });
    const topic = `${prefix}videos.events`;
    const meta = await admin.metadata({ topics: [topic] });
    const ends = await admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: meta.topics.get(topic)!.partitionsCount }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
    });
    await admin.close();
    const total = ends[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
    const { stdout } = await run(
      'bash',
      [
        KAFKA_SCRIPT,
        'run',
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        '--bootstrap-server',
        broker.brokers[0],
        '--topic',
        topic,
        '--from-beginning',
        '--max-messages',
        String(total),
        '--timeout-ms',
        '60000',
        '--property',
        'print.key=true',
        '--property',
        'key.separator=\t',
      ],
      { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const records = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [key, value] = l.split('\t');
        return { key, value, env: JSON.parse(value) as EventEnvelope<'video.ready'> };
      });
    assert.equal(records.length, total);
    const firstValue = new Map<string, string>();
    const lastN = new Map<string, number>();
    let repeats = 0;
    for (const r of records) {
      const id = r.env.event_id;
      if (firstValue.has(id)) {
        repeats++;
        assert.equal(r.value, firstValue.get(id), 'a repeat carries the same event_id and bytes');
        continue;
      }
      firstValue.set(id, r.value);
      if (!sent.has(id)) continue; // the first test's events
      assert.equal(r.key, sent.get(id)!.key);
      const n = r.env.duration_seconds!;
      assert.ok(n > (lastN.get(r.key) ?? -1), `${r.key}: ${n} after ${lastN.get(r.key)}, in order`);
      lastN.set(r.key, n);
    }
    for (const id of sent.keys()) assert.ok(firstValue.has(id), `event ${id} reached Kafka`);
    console.log(`# ${total} records for ${sent.size + 20} events (${repeats} repeats)`);

    // Applied once: one webhook delivery per event, whatever Kafka redelivered.
    const deliveries = await t.nova.container.db.kysely.selectFrom('webhook_deliveries').select('event_id').execute();
    const perEvent = new Map<string, number>();
    for (const d of deliveries) perEvent.set(d.event_id, (perEvent.get(d.event_id) ?? 0) + 1);
    for (const id of sent.keys()) assert.equal(perEvent.get(id), 1, `one delivery for ${id}`);
  });
});
