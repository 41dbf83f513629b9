// Kafka adapter of the event bus (kafkajs: pure JS, no native library to download). Topics get
// KAFKA_TOPIC_PREFIX and are created when missing; messages are keyed by entity id so each key
// stays on one partition, in order. Connection failures surface as rejected publishes (the relay
// backs off) and as consumer restarts in the background, never as a crash.
import { Kafka, Partitioners, logLevel, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { BatchHandler, EventBus, OutgoingMessage, Subscription } from './bus.js';

export interface KafkaBusOptions {
  brokers: string[];
  topicPrefix: string;
  /** Topics created at first use when missing (logical names, without the prefix). */
  topics: string[];
  clientId?: string;
  logger: Logger;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class KafkaBus implements EventBus {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly prefix: string;
  private producer: Promise<Producer> | null = null;
  private topicsReady: Promise<void> | null = null;
  private readonly subs = new Set<{ stop: () => Promise<void> }>();
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.prefix = opts.topicPrefix;
    const log = opts.logger.child({ component: 'kafka' });
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'nova',
      brokers: opts.brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      // Few, short retries: while the broker is down the relay's own backoff takes over, and the
      // events wait safely in the outbox meanwhile.
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
      logLevel: logLevel.WARN,
      logCreator: () => ({ level, log: entry }: { level: logLevel; log: LogEntry['log'] }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
    });
  }

  private name(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private ensureTopics(): Promise<void> {
    this.topicsReady ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = this.opts.topics.map((t) => this.name(t)).filter((t) => !existing.has(t));
        if (missing.length) await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
      } finally {
        await admin.disconnect().catch(() => {});
      }
    })().catch((err) => {
      this.topicsReady = null;
      throw err;
    });
    return this.topicsReady;
  }

  private connectProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      await this.ensureTopics();
      // One request in flight per broker keeps a partition's order across retries; duplicates
      // from a retry are fine (consumers dedupe by event_id), reordering would not be.
      const p = this.kafka.producer({
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2 on the key: other Kafka clients place a key on the same partition.
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 3, initialRetryTime: 200 },
      });
      await p.connect();
      return p;
    })().catch((err) => {
      this.producer = null;
      throw err;
    });
    return this.producer;
  }

  async publish(topic: string, key: string, value: string): Promise<void> {
    await this.publishBatch([{ topic, key, value }]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('the Kafka bus is closed');
    if (messages.length === 0) return;
    const producer = await this.connectProducer();
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push(m);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic.entries()].map(([topic, list]) => ({
        topic: this.name(topic),
        messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      })),
    });
  }

  subscribe(topics: string[], group: string, handler: BatchHandler): Subscription {
    const log = this.opts.logger.child({ component: 'kafka', group });
    let stopped = false;
    let consumer: Consumer | null = null;
    let wake: () => void = () => {};
    let interrupt: () => void = () => {};
    const stopping = new Promise<void>((resolve) => (interrupt = resolve));
    const logical = new Map(topics.map((t) => [this.name(t), t]));

    const loop = async (): Promise<void> => {
      let delay = 500;
      while (!stopped) {
        const c = this.kafka.consumer({ groupId: `${this.prefix}${group}`, allowAutoTopicCreation: false });
        consumer = c;
        const ended = new Promise<void>((resolve) => {
          wake = resolve;
          c.on(c.events.CRASH, (e) => {
            if (!e.payload.restart) resolve();
          });
        });
        try {
          await this.ensureTopics();
          await c.connect();
          // A new group reads from the start of the retained log, so nothing published before it
          // first joined is skipped; consumers ignore what they already processed.
          await c.subscribe({ topics: [...logical.keys()], fromBeginning: true });
          await c.run({
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
              if (batch.messages.length === 0) return;
              const topic = logical.get(batch.topic) ?? batch.topic;
              await handler(batch.messages.map((m) => ({ topic, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' })));
              resolveOffset(batch.messages[batch.messages.length - 1].offset);
              await heartbeat();
            },
          });
          delay = 500;
          await ended;
        } catch (err) {
          if (!stopped) log.warn({ err }, 'Kafka consumer could not start; retrying');
        }
        await c.disconnect().catch(() => {});
        if (!stopped) {
          await Promise.race([sleep(delay), stopping]);
          delay = Math.min(delay * 2, 30_000);
        }
      }
    };
    const running = loop();
    const entry = {
      stop: async () => {
        stopped = true;
        wake();
        interrupt();
        await consumer?.disconnect().catch(() => {});
        await running;
      },
    };
    this.subs.add(entry);
    return {
      close: async () => {
        this.subs.delete(entry);
        await entry.stop();
      },
    };
  }

  async ping(): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.stop()));
    this.subs.clear();
    const p = this.producer;
    this.producer = null;
    if (p) await p.then((producer) => producer.disconnect(), () => {}).catch(() => {});
  }
}
