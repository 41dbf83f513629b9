// `nova events tail`: prints a topic's records as JSON lines for an operator debugging a deployment.
// It reads in a consumer group of its own that commits nothing, so Nova's groups are never touched.
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, stringDeserializers, type Message } from '@platformatic/kafka';
import { forceClose } from './kafka.bus.js';

export interface TailOptions {
  brokers: string[];
  /** Full topic name on the cluster (prefix included). */
  topic: string;
  groupPrefix: string;
  fromBeginning: boolean;
  /** Stop after this many records (default: run until the signal aborts). */
  limit?: number;
  signal: AbortSignal;
  write: (line: string) => void;
}

export class TopicNotFoundError extends Error {}

function parse(value: string | undefined): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Resolves with the number of records printed once the limit is reached or the signal aborts. */
export async function tailTopic(o: TailOptions): Promise<number> {
  const base = { clientId: 'nova-tail', bootstrapBrokers: o.brokers, connectTimeout: 3000, retries: 1 };
  const admin = new Admin(base);
  try {
    if (!(await admin.listTopics()).includes(o.topic)) throw new TopicNotFoundError(`topic "${o.topic}" does not exist`);
  } finally {
    await admin.close().catch(() => {});
  }
  const consumer = new Consumer<string, string, string, string>({
    ...base,
    groupId: `${o.groupPrefix}tail-${randomBytes(4).toString('hex')}`,
    deserializers: stringDeserializers,
    autocommit: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTime: 500,
  });
  let printed = 0;
  try {
    const stream = await consumer.consume({ topics: [o.topic], mode: o.fromBeginning ? 'earliest' : 'latest', autocommit: false });
    const stop = () => void stream.close().catch(() => {});
    if (o.signal.aborted) stop();
    o.signal.addEventListener('abort', stop, { once: true });
    for await (const m of stream as AsyncIterable<Message<string, string, string, string>>) {
      o.write(
        JSON.stringify({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset.toString(),
          timestamp: new Date(Number(m.timestamp)).toISOString(),
          key: m.key ?? null,
          headers: Object.fromEntries(m.headers),
          value: parse(m.value),
        }),
      );
      printed++;
      if (o.limit !== undefined && printed >= o.limit) break;
    }
  } finally {
    await forceClose(consumer);
  }
  return printed;
}
