// npm run bench:kafka — Nova's relay against Kafka's own producer, on one real broker in one run
// (bench/lib/harness.ts: ABBA rounds, `--swap`, `--rounds`, medians with their min–max spread):
//  1. throughput: a backlog of events in the Postgres outbox drained by the relay to Kafka (events/s),
//     against kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance, from the same
//     Maven artifacts) sending as many records of the same size with the same acks (all) and
//     idempotence; target: ratio of the medians ≥ 0.5. CPU per event: this process (the relay), the
//     bench database's Postgres backends, the perf tool's JVM (start-up included) and the broker;
//  2. end to end at 1,000 events/s: writers commit events for BENCH_E2E_SECONDS while the relay
//     publishes them and a consumer group reads them; lag from commit (the writer's COMMIT
//     returned) to consumer, p50/p99/max (target p99 ≤ 250 ms), split into its legs (commit → the
//     relay's publish call, the publish, ack → consumer), and also from the event's occurred_at
//     (taken before its INSERT, so it adds the writer's own transaction time).
// The broker is started with scripts/kafka.sh unless KAFKA_BROKERS names one; Postgres at
// TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { OutboxRelay, type RelayOptions } from '../src/events/outbox.relay.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import type { EventBus, OutgoingMessage } from '../src/infra/bus/bus.js';
import { KafkaBus } from '../src/infra/bus/kafka.bus.js';
import { openDatabase, type Db } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { createLogger } from '../src/infra/logger.js';
import { cpuSeconds, fmt, percentile, ratioSpread, spread, startBench } from './lib/harness.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SCRIPT = path.join(ROOT, 'scripts/kafka.sh');
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 10);
const logger = createLogger('silent');
const RELAY: RelayOptions = { batchSize: 500, pollIntervalMs: 1000, leaseMs: 60_000, backoffMinMs: 100, backoffMaxMs: 2000, lingerMs: 5 };

const bench = startBench('kafka', { a: 'Nova relay', b: 'kafka-producer-perf-test' }, { rounds: Number(process.env.BENCH_ROUNDS ?? 4) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = () => os.loadavg()[0].toFixed(1);
const ms = (xs: number[]) => `p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, max ${Math.max(...xs)} ms`;

interface Broker {
  brokers: string[];
  /** The broker's pid when this run started it (for its CPU time), else null. */
  pid: number | null;
  stop(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS.split(','), pid: null, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-kafka-'));
  const { stdout } = await run('bash', [SCRIPT, 'start', dir], { timeout: 300_000 });
  return {
    brokers: [stdout.trim().split('\n').pop()!],
    pid: Number(fs.readFileSync(path.join(dir, 'kafka.pid'), 'utf8').trim()) || null,
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

/** CPU seconds so far of the Postgres backends serving the bench's database (NaN when /proc does not tell). */
async function postgresCpu(db: Db): Promise<Map<number, number>> {
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db.kysely);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      out.set(pid, cpuSeconds(pid));
    } catch {
      // Ended meanwhile, or another user's /proc entry we cannot read.
    }
  }
  return out;
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  if (after.size === 0) return NaN;
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

const brokerCpu = (b: Broker) => (b.pid ? cpuSeconds(b.pid) : NaN);
/** CPU seconds of this process's reaped children (the perf tool's bash and JVM). */
const childrenCpu = () => cpuSeconds(process.pid) - cpuSeconds();

const payload = (key: string, i: number) => ({ video_id: key, owner_id: '0190d6f0-1b2c-7d3e-8f4a-5b6c7d8e9f00', stage: 'transcode', progress: i % 100, timestamp: new Date().toISOString() });

interface Side {
  rate: number;
  /** CPU µs per event: the producing side's own process(es), Postgres (relay only), the broker. */
  cpuOwn: number;
  cpuPostgres: number;
  cpuBroker: number;
}

async function main(): Promise<void> {
  const broker = await startBroker();
  const { db, drop } = await createDatabase();
  const config = loadConfig({ KAFKA_BROKERS: broker.brokers.join(','), KAFKA_GROUP_PREFIX: `bench-${Date.now().toString(36)}.` });
  try {
    // 1. Backlog drained by the relay, against Kafka's own producer (same record size, acks and
    // idempotence, on a topic like Nova's), in alternating rounds: on a shared machine the load
    // moves within seconds, and one pair measured a minute apart compared the load as much as the producers.
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
    // The size of the first event's record (the others differ by a byte or two), which the tool sends.
    const size = Buffer.byteLength(
      JSON.stringify({ ...payload('v-0', 0), event_id: '0190d700-0000-7000-8000-000000000000', event_type: 'video.progress', schema_version: 1, occurred_at: new Date().toISOString() }),
    );

    const relaySide = async (round: number): Promise<Side> => {
      for (let i = 0; i < BACKLOG; i += 500) {
        await db.kysely.transaction().execute(async (trx) => {
          for (let j = i; j < Math.min(BACKLOG, i + 500); j++) {
            await appendEvent(trx, 'video.progress', `0190d700-3c4d-7e5f-8a9b-${String(j % 1000).padStart(12, '0')}`, payload(`v-${j % 1000}`, j));
          }
        });
      }
      const relay = new OutboxRelay(db, bus, RELAY, logger);
      const load = load1();
      const pg0 = await postgresCpu(db);
      const own0 = cpuSeconds();
      const broker0 = brokerCpu(broker);
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
      const seconds = (performance.now() - t0) / 1000;
      await relay.stop();
      const per = (s: number) => (s * 1e6) / BACKLOG;
      const side = { rate: BACKLOG / seconds, cpuOwn: per(cpuSeconds() - own0), cpuPostgres: per(cpuDelta(pg0, await postgresCpu(db))), cpuBroker: per(brokerCpu(broker) - broker0) };
      console.log(
        `round ${round + 1}, relay (Postgres outbox → Kafka, acks=all, idempotent), load ${load} → ${load1()}: ${BACKLOG} events of ${size} B in ${seconds.toFixed(2)} s = ` +
          `${side.rate.toFixed(0)} events/s; CPU per event ${side.cpuOwn.toFixed(0)} µs relay + ${side.cpuPostgres.toFixed(0)} µs Postgres + ${side.cpuBroker.toFixed(0)} µs broker`,
      );
      return side;
    };

    const kafkaSide = async (round: number): Promise<Side> => {
      const load = load1();
      const own0 = childrenCpu();
      const broker0 = brokerCpu(broker);
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
      const per = (s: number) => (s * 1e6) / BACKLOG;
      const side = { rate: m ? Number(m[1]) : NaN, cpuOwn: per(childrenCpu() - own0), cpuPostgres: 0, cpuBroker: per(brokerCpu(broker) - broker0) };
      console.log(
        `round ${round + 1}, kafka-producer-perf-test, load ${load} → ${load1()}: ${summary}; CPU per record ${side.cpuOwn.toFixed(0)} µs tool (JVM start-up included) + ${side.cpuBroker.toFixed(0)} µs broker`,
      );
      return side;
    };

    const { a: nova, b: kafka } = await bench.alternate({ a: relaySide, b: kafkaSide });
    await bus.close();
    const novaRate = spread(nova.map((s) => s.rate));
    const kafkaRate = spread(kafka.map((s) => s.rate));
    const ratio = novaRate.median / kafkaRate.median;
    console.log(
      `relay, events/s: ${fmt(novaRate, 0)}; CPU per event ${fmt(spread(nova.map((s) => s.cpuOwn)), 0, ' µs')} relay, ${fmt(spread(nova.map((s) => s.cpuPostgres)), 0, ' µs')} Postgres, ${fmt(spread(nova.map((s) => s.cpuBroker)), 0, ' µs')} broker`,
    );
    console.log(
      `kafka-producer-perf-test, records/s: ${fmt(kafkaRate, 0)}; CPU per record ${fmt(spread(kafka.map((s) => s.cpuOwn)), 0, ' µs')} tool, ${fmt(spread(kafka.map((s) => s.cpuBroker)), 0, ' µs')} broker`,
    );
    console.log(
      `ratio of the medians ${ratio.toFixed(2)}; per paired round ${fmt(
        ratioSpread(
          nova.map((s) => s.rate),
          kafka.map((s) => s.rate),
        ),
      )}`,
    );
    bench.figure('relay events/s', novaRate.median, 'events/s');
    bench.figure('kafka-producer-perf-test records/s', kafkaRate.median, 'records/s');
    bench.figure('relay CPU per event', spread(nova.map((s) => s.cpuOwn + s.cpuPostgres)).median, 'µs');

    // 2. End to end at RATE events/s: commit → relay → Kafka → consumer group.
    const e2ePrefix = `bench-e2e-${Date.now().toString(36)}.`;
    const e2eBus = new KafkaBus({ brokers: broker.brokers, topicPrefix: e2ePrefix, topics: ['videos.events'], kafka: config.kafka, logger });
    // The relay's bus, timing each event's publish call and its acknowledgement.
    const sentAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const timedPublish = async (messages: OutgoingMessage[]): Promise<void> => {
      const t = Date.now();
      await e2eBus.publishBatch(messages);
      const done = Date.now();
      for (const m of messages) {
        const id = m.headers?.event_id;
        if (id && !sentAt.has(id)) {
          sentAt.set(id, t);
          ackedAt.set(id, done);
        }
      }
    };
    const timedBus = new Proxy(e2eBus, {
      get: (target, prop) => (prop === 'publishBatch' ? timedPublish : (Reflect.get(target, prop, target) as unknown)),
    }) as EventBus;
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
    const e2eRelay = new OutboxRelay(db, timedBus, RELAY, logger);
    e2eRelay.start();
    // Warm-up: the group joins and the first records flow before measuring.
    await db.kysely.transaction().execute((trx) => appendEvent(trx, 'video.progress', 'warm', { ...payload('warm', 0), progress: -1 }));
    await sleep(3000);
    const total = RATE * E2E_SECONDS;
    const loadE2e = load1();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpu0 = cpuSeconds();
    const pg0 = await postgresCpu(db);
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
    loopDelay.disable();
    const cpuE2e = ((cpuSeconds() - cpu0) * 1e6) / wanted;
    const pgE2e = (cpuDelta(pg0, await postgresCpu(db)) * 1e6) / wanted;
    await e2eRelay.stop();
    await sub.close();
    await e2eBus.close();
    // The writer's callback can run after the consumer saw its event (one event loop): 0 then.
    const legs = { commitToSend: [] as number[], publish: [] as number[], ackToConsumer: [] as number[], total: [] as number[] };
    for (const [id, at] of receivedAt) {
      const committed = committedAt.get(id) ?? at;
      const sentT = sentAt.get(id) ?? committed;
      const acked = ackedAt.get(id) ?? sentT;
      legs.total.push(Math.max(0, at - committed));
      legs.commitToSend.push(Math.max(0, sentT - committed));
      legs.publish.push(acked - sentT);
      legs.ackToConsumer.push(Math.max(0, at - acked));
    }
    const p50 = percentile(legs.total, 50);
    const p99 = percentile(legs.total, 99);
    console.log(`end to end at ${RATE}/s, load ${loadE2e} → ${load1()}: ${wanted} events committed in ${sent.toFixed(1)} s (${(wanted / sent).toFixed(0)}/s), ${receivedAt.size} consumed`);
    console.log(`  commit → consumer lag ${ms(legs.total)}; from occurred_at (before the INSERT) ${ms(lags)}`);
    console.log(`  legs: commit → publish call ${ms(legs.commitToSend)}; publish → ack ${ms(legs.publish)}; ack → consumer ${ms(legs.ackToConsumer)}`);
    console.log(
      `  this process's event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms; ` +
        `CPU per event ${cpuE2e.toFixed(0)} µs here (writers, relay, consumer) + ${pgE2e.toFixed(0)} µs Postgres`,
    );
    bench.figure('commit→consumer lag p50', p50, 'ms');
    bench.figure('commit→consumer lag max', Math.max(...legs.total), 'ms');
    bench.figure('writers events/s', wanted / sent, 'events/s');
    bench.target('relay/producer throughput ratio', ratio, '>=', 0.5);
    bench.target(`commit→consumer lag p99 ms at ${RATE}/s`, p99, '<=', 250, 0);
  } finally {
    await drop();
    await broker.stop();
  }
  bench.finish();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
