// npm run bench:kafka — Nova's relay against Kafka's own producer, on one real broker in one run:
//  1. throughput: a backlog of events in the Postgres outbox drained by the relay to Kafka (events/s),
//     against kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance, from the same
//     Maven artifacts) sending as many records of the same size with the same acks (all) and
//     idempotence; the two alternate for BENCH_ROUNDS (3) rounds and the ratio of their medians is
//     printed (target ≥ 0.5);
//  2. end to end at 1,000 events/s: writers commit events for BENCH_E2E_SECONDS while the relay
//     publishes them and a consumer group reads them; lag from commit (the writer's COMMIT
//     returned) to consumer, p50/p99 (target p99 ≤ 250 ms), and also from the event's
//     occurred_at (taken before its INSERT, so it adds the writer's own transaction time).
// The broker is started with scripts/kafka.sh unless KAFKA_BROKERS names one; Postgres at
// TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { OutboxRelay, type RelayOptions } from '../src/events/outbox.relay.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { KafkaBus } from '../src/infra/bus/kafka.bus.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SCRIPT = path.join(ROOT, 'scripts/kafka.sh');
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger('silent');
const RELAY: RelayOptions = { batchSize: 500, pollIntervalMs: 1000, leaseMs: 60_000, backoffMinMs: 100, backoffMaxMs: 2000, lingerMs: 5 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

async function startBroker(): Promise<{ brokers: string[]; stop(): Promise<void> }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS.split(','), stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-kafka-'));
  const { stdout } = await run('bash', [SCRIPT, 'start', dir], { timeout: 300_000 });
  return {
    brokers: [stdout.trim().split('\n').pop()!],
    async stop() {
      await run('bash', [SCRIPT, 'stop', dir]).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createDatabase(): Promise<{ db: Db; drop(): Promise<void> }> {
  const name = `nova_bench_kafka_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const db = openDatabase({ databaseUrl: url.toString(), sqlitePath: '', poolSize: 32 });
  await migrateToLatest(db);
  return {
    db,
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

const payload = (key: string, i: number) => ({ video_id: key, owner_id: '0190d6f0-1b2c-7d3e-8f4a-5b6c7d8e9f00', stage: 'transcode', progress: i % 100, timestamp: new Date().toISOString() });

async function main(): Promise<void> {
  console.log(
    `bench:kafka — ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const broker = await startBroker();
  const { db, drop } = await createDatabase();
  const config = loadConfig({ KAFKA_BROKERS: broker.brokers.join(','), KAFKA_GROUP_PREFIX: `bench-${Date.now().toString(36)}.` });
  try {
    // 1. Backlog drained by the relay, against Kafka's own producer (same record size, acks and
    // idempotence, on a topic like Nova's). The two alternate for BENCH_ROUNDS rounds and the ratio
    // is of their medians: on a shared machine the load moves within seconds, and one pair measured
    // a minute apart compared the load as much as the producers.
    const prefix = `bench-${Date.now().toString(36)}.`;
    const bus = new KafkaBus({ brokers: broker.brokers, topicPrefix: prefix, topics: ['videos.events'], kafka: config.kafka, logger });
    await bus.publishBatch([{ topic: 'videos.events', key: 'warm-up', value: '{}' }]);
    const perfTopic = `${prefix}perf`;
    await run('bash', [
      SCRIPT,
      'run',
      'org.apache.kafka.tools.TopicCommand',
      '--bootstrap-server',
      broker.brokers[0],
      '--create',
      '--topic',
      perfTopic,
      '--partitions',
      String(config.kafka.partitions),
      '--replication-factor',
      '1',
    ]);
    let size = 0;
    const novaRates: number[] = [];
    const kafkaRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (let i = 0; i < BACKLOG; i += 500) {
        await db.kysely.transaction().execute(async (trx) => {
          for (let j = i; j < Math.min(BACKLOG, i + 500); j++) {
            const env = await appendEvent(trx, 'video.progress', `0190d700-3c4d-7e5f-8a9b-${String(j % 1000).padStart(12, '0')}`, payload(`v-${j % 1000}`, j));
            if (j === 0) size = Buffer.byteLength(JSON.stringify(env));
          }
        });
      }
      const relay = new OutboxRelay(db, bus, RELAY, logger);
      const load = os.loadavg()[0].toFixed(1);
      const t0 = performance.now();
      relay.start();
      for (;;) {
        const left = await db.kysely
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('delivered_at', 'is', null)
          .executeTakeFirstOrThrow();
        if (Number(left.n) === 0) break;
        await sleep(20);
      }
      const relaySeconds = (performance.now() - t0) / 1000;
      await relay.stop();
      novaRates.push(BACKLOG / relaySeconds);
      console.log(
        `round ${round}, relay (Postgres outbox → Kafka, acks=all, idempotent, load ${load}): ${BACKLOG} events of ${size} B in ${relaySeconds.toFixed(2)} s = ${novaRates.at(-1)!.toFixed(0)} events/s`,
      );

      const perf = await run(
        'bash',
        [
          SCRIPT,
          'run',
          'org.apache.kafka.tools.ProducerPerformance',
          '--topic',
          perfTopic,
          '--num-records',
          String(BACKLOG),
          '--record-size',
          String(size),
          '--throughput',
          '-1',
          '--producer-props',
          `bootstrap.servers=${broker.brokers[0]}`,
          'acks=all',
          'enable.idempotence=true',
          'compression.type=none',
        ],
        { timeout: 600_000 },
      );
      const summary = perf.stdout.trim().split('\n').pop() ?? '';
      const m = /([\d.]+) records\/sec/.exec(summary);
      kafkaRates.push(m ? Number(m[1]) : NaN);
      console.log(`round ${round}, kafka-producer-perf-test (load ${os.loadavg()[0].toFixed(1)}): ${summary}`);
    }
    await bus.close();
    const novaRate = median(novaRates);
    const kafkaRate = median(kafkaRates);
    const ratio = novaRate / kafkaRate;
    console.log(`ratio Nova relay / Kafka producer, medians of ${ROUNDS} rounds: ${ratio.toFixed(2)} (${novaRate.toFixed(0)} / ${kafkaRate.toFixed(0)}; target ≥ 0.5)`);

    // 2. End to end at RATE events/s: commit → relay → Kafka → consumer group.
    const e2ePrefix = `bench-e2e-${Date.now().toString(36)}.`;
    const e2eBus = new KafkaBus({ brokers: broker.brokers, topicPrefix: e2ePrefix, topics: ['videos.events'], kafka: config.kafka, logger });
    const lags: number[] = [];
    const receivedAt = new Map<string, number>();
    const committedAt = new Map<string, number>();
    let wanted = 0;
    const sub = e2eBus.subscribe(['videos.events'], 'bench', async (batch) => {
      const now = Date.now();
      for (const msg of batch) {
        const env = JSON.parse(msg.value) as { event_id: string; occurred_at: string; progress: number };
        if (env.progress < 0 || receivedAt.has(env.event_id)) continue;
        lags.push(now - Date.parse(env.occurred_at));
        receivedAt.set(env.event_id, now);
      }
    });
    const e2eRelay = new OutboxRelay(db, e2eBus, RELAY, logger);
    e2eRelay.start();
    // Warm-up: the group joins and the first records flow before measuring.
    await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.progress', 'warm', { ...payload('warm', 0), progress: -1 }));
    await sleep(3000);
    const total = RATE * E2E_SECONDS;
    const start = performance.now();
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const p = db.kysely
        .transaction()
        .execute((trx) => appendEvent(trx, 'video.progress', `e2e-${i % 200}`, payload(`e2e-${i % 200}`, i)))
        .then((env) => committedAt.set(env.event_id, Date.now()));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      wanted++;
      // Enough writers in flight that Postgres's group commit can keep the pace on a busy machine.
      if (inflight.size >= 28) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const sent = (performance.now() - start) / 1000;
    const deadline = Date.now() + 60_000;
    while (receivedAt.size < wanted && Date.now() < deadline) await sleep(50);
    await e2eRelay.stop();
    await sub.close();
    await e2eBus.close();
    const fromOccurred = [...lags].sort((a, b) => a - b);
    // The writer's callback can run after the consumer saw its event (one event loop): lag 0 then.
    const sorted = [...receivedAt].map(([id, at]) => Math.max(0, at - (committedAt.get(id) ?? at))).sort((a, b) => a - b);
    console.log(
      `end to end at ${RATE}/s: ${wanted} events committed in ${sent.toFixed(1)} s (${(wanted / sent).toFixed(0)}/s), ${receivedAt.size} consumed; ` +
        `commit → consumer lag p50 ${pct(sorted, 0.5)} ms, p99 ${pct(sorted, 0.99)} ms, max ${sorted[sorted.length - 1]} ms (target p99 ≤ 250 ms); ` +
        `from occurred_at (before the INSERT) p50 ${pct(fromOccurred, 0.5)} ms, p99 ${pct(fromOccurred, 0.99)} ms`,
    );
    console.log(
      `summary: ratio ${ratio.toFixed(2)} (${novaRate.toFixed(0)} / ${kafkaRate.toFixed(0)} records/s, target ≥ 0.5); ` +
        `commit → consumer lag at ${(wanted / sent).toFixed(0)}/s p50 ${pct(sorted, 0.5)} ms, p99 ${pct(sorted, 0.99)} ms (target p99 ≤ 250 ms at ${RATE}/s); ` +
        `from occurred_at p99 ${pct(fromOccurred, 0.99)} ms`,
    );
    console.log(
      `load average after: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await drop();
    await broker.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
