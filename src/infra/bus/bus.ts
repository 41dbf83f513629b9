// The event-bus port: what the outbox relay publishes to and what in-Nova consumers read from.
// One adapter per engine (memory for the embedded default, Kafka when KAFKA_BROKERS is set), so
// producers and consumers never know which one runs.

export interface OutgoingMessage {
  /** Logical topic name (`videos.events`); adapters add any configured prefix. */
  topic: string;
  /** Partitioning key (stream or video id): one key's messages keep their order. */
  key: string;
  /** The JSON envelope as text. */
  value: string;
  headers?: Record<string, string>;
}

export interface ReceivedMessage {
  topic: string;
  key: string;
  value: string;
}

/**
 * Handles one batch of messages of a topic, in publish order. Throwing means "not processed":
 * the batch is offered again (at-least-once), so handlers must be idempotent.
 */
export type BatchHandler = (messages: ReceivedMessage[]) => Promise<void>;

export interface GroupLag {
  group: string;
  lag: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface EventBus {
  /** `memory` or `kafka`: named in logs and metrics. */
  readonly kind: string;
  publish(topic: string, key: string, value: string): Promise<void>;
  /**
   * Publishes messages in order; resolves only once the bus has accepted every one of them.
   * A rejection means any of them may or may not have been accepted: the caller publishes all again.
   */
  publishBatch(messages: OutgoingMessage[]): Promise<void>;
  /**
   * Joins consumer group `group` on the topics. Each group sees every message at least once;
   * registering is immediate, connecting (for remote buses) continues in the background.
   */
  subscribe(topics: string[], group: string, handler: BatchHandler): Subscription;
  /** Throws when the bus cannot be reached (readiness). */
  ping(): Promise<void>;
  /** Messages this process's consumer groups have not committed yet (remote buses only). */
  consumerLag?(): Promise<GroupLag[]>;
  close(): Promise<void>;
}
