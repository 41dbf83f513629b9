// Kafka adapter of the event bus, on @platformatic/kafka (pure JS, installs from npm alone). The
// producer is idempotent with acks=all and places keys with Kafka's own murmur2 partitioner, so
// Java and librdkafka clients find a key on the same partition. Each subscription is a consumer
// group that commits after its handler succeeded; connection failures surface as rejected
// publishes (the relay backs off) and as consumer restarts in the background, never as a crash.
import { Admin, Consumer, ProduceAcks, Producer, stringDeserializers, stringSerializers, type Message, type MessagesStream } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config.js';
import type { Logger } from '../logger.js';
import type { BatchHandler, EventBus, GroupLag, OutgoingMessage, Subscription } from './bus.js';
import { javaCompatiblePartitioner } from './kafka.partitioner.js';

export interface KafkaBusOptions {
  brokers: string[];
  topicPrefix: string;
  /** Topics Nova uses (logical names, without the prefix): created when missing unless told not to. */
  topics: string[];
  kafka: KafkaConfig;
  clientId?: string;
  logger: Logger;
}

type StrMessage = Message<string, string, string, string>;

/** Most messages one handler call receives. */
const MAX_BATCH = 500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class KafkaBus implements EventBus {
  readonly kind = 'kafka';
  private readonly prefix: string;
  private readonly clientId: string;
  private producer: Producer<string, string, string, string> | null = null;
  /** Sends run one at a time: the idempotent producer numbers each partition's batches in order. */
  private sending: Promise<unknown> = Promise.resolve();
  private admin: Admin | null = null;
  private topicsReady: Promise<void> | null = null;
  private readonly subs = new Set<{ stop: () => Promise<void> }>();
  private readonly groups = new Map<string, string[]>();
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.prefix = opts.topicPrefix;
    this.clientId = opts.clientId ?? 'nova';
  }

  /** The topic's name on the cluster. */
  name(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private base() {
    return { clientId: this.clientId, bootstrapBrokers: this.opts.brokers, connectTimeout: 3000, timeout: 10_000 };
  }

  private adminClient(): Admin {
    // No retries of its own: readiness must answer quickly, and callers retry on their schedule.
    this.admin ??= new Admin({ ...this.base(), timeout: 3000, retries: 0 });
    return this.admin;
  }

  private ensureTopics(): Promise<void> {
    this.topicsReady ??= (async () => {
      if (!this.opts.kafka.createTopics) return;
      const admin = this.adminClient();
      const existing = new Set(await admin.listTopics());
      const missing = this.opts.topics.map((t) => this.name(t)).filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      try {
        // replicas -1: the broker's default.replication.factor.
        await admin.createTopics({ topics: missing, partitions: this.opts.kafka.partitions, replicas: -1 });
        this.opts.logger.info({ topics: missing, partitions: this.opts.kafka.partitions }, 'created Kafka topics');
      } catch (err) {
        // Another node may have created them a moment ago.
        const left = new Set(await admin.listTopics());
        if (missing.some((t) => !left.has(t))) throw err;
      }
    })().catch((err) => {
      this.topicsReady = null;
      throw err;
    });
    return this.topicsReady;
  }

  private producerClient(): Producer<string, string, string, string> {
    this.producer ??= new Producer({
      ...this.base(),
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: this.opts.kafka.compression,
      partitioner: javaCompatiblePartitioner,
      serializers: stringSerializers,
      autocreateTopics: false,
      // A few quick retries for a broker that blinks; a longer outage goes back to the relay,
      // whose events wait in the outbox meanwhile.
      retries: 4,
      retryDelay: 250,
    });
    return this.producer;
  }

  async publish(topic: string, key: string, value: string): Promise<void> {
    await this.publishBatch([{ topic, key, value }]);
  }

  publishBatch(messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the Kafka bus is closed'));
    if (messages.length === 0) return Promise.resolve();
    const run = this.sending.then(() => this.send(messages));
    this.sending = run.catch(() => {});
    return run;
  }

  private async send(messages: OutgoingMessage[]): Promise<void> {
    await this.ensureTopics();
    const producer = this.producerClient();
    try {
      await producer.send({
        messages: messages.map((m) => ({ topic: this.name(m.topic), key: m.key, value: m.value, headers: m.headers })),
      });
    } catch (err) {
      // After a failure the broker may hold part of what was sent. The caller sends it all again,
      // possibly with more behind it, which the old producer's sequence numbers would reject
      // forever: a new producer starts a fresh sequence (repeats keep their event_id).
      if (this.producer === producer) this.producer = null;
      void producer.close().catch(() => {});
      throw err;
    }
  }

  subscribe(topics: string[], group: string, handler: BatchHandler): Subscription {
    const groupId = `${this.opts.kafka.groupPrefix}${group}`;
    const log = this.opts.logger.child({ component: 'kafka', group: groupId });
    const logical = new Map(topics.map((t) => [this.name(t), t]));
    this.groups.set(groupId, [...logical.keys()]);
    let stopped = false;
    let current: { consumer: Consumer<string, string, string, string>; stream: MessagesStream<string, string, string, string> | null } | null = null;
    let interrupt: () => void = () => {};
    const stopping = new Promise<void>((resolve) => (interrupt = resolve));

    const consumeOnce = async (): Promise<void> => {
      await this.ensureTopics();
      const consumer = new Consumer<string, string, string, string>({
        ...this.base(),
        groupId,
        deserializers: stringDeserializers,
        autocommit: false,
        // A node that died hands its partitions over within seconds.
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        rebalanceTimeout: 30_000,
        maxWaitTime: 1000,
        retries: 2,
        retryDelay: 300,
      });
      current = { consumer, stream: null };
      let committing: Promise<void> = Promise.resolve();
      try {
        if (stopped) return;
        // A new group starts at the beginning of the retained log, so nothing published before
        // it first joined is skipped; after that it resumes from its committed offsets.
        const stream = await consumer.consume({ topics: [...logical.keys()], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
        current.stream = stream;
        if (stopped) return;
        let batch: StrMessage[] = [];
        for await (const m of stream as AsyncIterable<StrMessage>) {
          if (stopped) break;
          batch.push(m);
          // Gather what is already buffered into one handler call.
          if (stream.readableLength > 0 && batch.length < MAX_BATCH) continue;
          await this.deliver(batch, logical, handler);
          // The next batch's handler does not wait for this commit's round trip to the broker (it
          // was a fixed part of every record's latency); the commits stay in order, each after its
          // batch was handled, and one that fails restarts the consumer from the last that landed,
          // so the batches after it are handled again (at-least-once).
          await committing;
          committing = consumer.commit({ offsets: nextOffsets(batch) });
          committing.catch(() => {});
          batch = [];
        }
        await committing;
      } finally {
        await committing.catch(() => {});
        current = null;
        await forceClose(consumer);
      }
    };

    const loop = async (): Promise<void> => {
      let delay = 500;
      while (!stopped) {
        const startedAt = Date.now();
        try {
          await consumeOnce();
        } catch (err) {
          if (!stopped) log.warn({ err }, 'Kafka consumer stopped; restarting from the committed offsets');
        }
        if (stopped) break;
        if (Date.now() - startedAt > 60_000) delay = 500;
        await Promise.race([sleep(delay), stopping]);
        delay = Math.min(delay * 2, 5000);
      }
    };
    const running = loop();
    const entry = {
      stop: async () => {
        stopped = true;
        interrupt();
        const c = current;
        if (c) {
          await c.stream?.close().catch(() => {});
          await forceClose(c.consumer);
        }
        await running;
      },
    };
    this.subs.add(entry);
    return {
      close: async () => {
        this.subs.delete(entry);
        this.groups.delete(groupId);
        await entry.stop();
      },
    };
  }

  /** Hands a batch to the handler, grouped per topic and in offset order per partition. */
  private async deliver(batch: StrMessage[], logical: Map<string, string>, handler: BatchHandler): Promise<void> {
    const byTopic = new Map<string, StrMessage[]>();
    for (const m of batch) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push(m);
    }
    for (const [topic, list] of byTopic) {
      await handler(list.map((m) => ({ topic: logical.get(topic) ?? topic, key: m.key ?? '', value: m.value ?? '' })));
    }
  }

  async ping(): Promise<void> {
    await this.adminClient().metadata({ topics: [], forceUpdate: true });
  }

  /** Records not yet committed by each of this process's groups, over all partitions of their topics. */
  async consumerLag(): Promise<GroupLag[]> {
    if (this.groups.size === 0) return [];
    const admin = this.adminClient();
    const topics = [...new Set([...this.groups.values()].flat())];
    const meta = await admin.metadata({ topics });
    const ends = await admin.listOffsets({
      topics: topics.map((name) => ({
        name,
        partitions: Array.from({ length: meta.topics.get(name)?.partitionsCount ?? 0 }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })),
      })),
    });
    const end = new Map<string, bigint>();
    for (const t of ends) for (const p of t.partitions) end.set(`${t.name}:${p.partitionIndex}`, p.offset);
    const committed = await admin.listConsumerGroupOffsets({ groups: [...this.groups.keys()] });
    return committed.map((g) => {
      const done = new Map<string, bigint>();
      for (const t of g.topics) for (const p of t.partitions) done.set(`${t.name}:${p.partitionIndex}`, p.committedOffset);
      let lag = 0n;
      for (const topic of this.groups.get(g.groupId) ?? []) {
        for (const [tp, e] of end) {
          if (!tp.startsWith(`${topic}:`)) continue;
          const c = done.get(tp) ?? -1n;
          // A partition the group never committed on counts whole (it starts at the log's start).
          lag += c < 0n ? e : e > c ? e - c : 0n;
        }
      }
      return { group: g.groupId, lag: Number(lag) };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.stop()));
    this.subs.clear();
    await this.sending;
    const p = this.producer;
    this.producer = null;
    await p?.close().catch(() => {});
    const a = this.admin;
    this.admin = null;
    await a?.close().catch(() => {});
  }
}

/** The offset to commit per partition: one past the last message handled. */
function nextOffsets(batch: StrMessage[]) {
  const last = new Map<string, StrMessage>();
  for (const m of batch) last.set(`${m.topic}:${m.partition}`, m);
  return [...last.values()].map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: -1 }));
}

/** Closes without waiting for in-flight fetches (the promise form of the client's overloaded close). */
export function forceClose(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  return client.close(true).catch(() => {});
}
