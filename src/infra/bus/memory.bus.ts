// In-process event bus, the embedded default. Publishing hands each batch to every subscribed
// group and resolves only after their handlers finished, so the relay marks an outbox row
// delivered only once in-Nova consumers have processed it: a crash in between re-delivers it from
// the outbox instead of losing it (consumers dedupe by event_id).
import type { BatchHandler, EventBus, OutgoingMessage, ReceivedMessage, Subscription } from './bus.js';

interface MemorySubscription {
  topics: Set<string>;
  group: string;
  handler: BatchHandler;
  /** Batches of one group run one after another, so a key's order holds under concurrent publishers. */
  tail: Promise<void>;
}

export class MemoryBus implements EventBus {
  readonly kind = 'memory';
  private subs: MemorySubscription[] = [];

  async publish(topic: string, key: string, value: string): Promise<void> {
    await this.publishBatch([{ topic, key, value }]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    const byTopic = new Map<string, ReceivedMessage[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push({ topic: m.topic, key: m.key, value: m.value });
    }
    const runs: Promise<void>[] = [];
    for (const sub of this.subs) {
      const batches = [...byTopic.entries()].filter(([topic]) => sub.topics.has(topic)).map(([, list]) => list);
      if (batches.length === 0) continue;
      const run = sub.tail.then(async () => {
        for (const batch of batches) await sub.handler(batch);
      });
      // The chain continues after a failure; the failure itself goes back to the publisher.
      sub.tail = run.catch(() => {});
      runs.push(run);
    }
    const results = await Promise.allSettled(runs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  subscribe(topics: string[], group: string, handler: BatchHandler): Subscription {
    if (this.subs.some((s) => s.group === group)) throw new Error(`consumer group "${group}" is already subscribed`);
    const sub: MemorySubscription = { topics: new Set(topics), group, handler, tail: Promise.resolve() };
    this.subs.push(sub);
    return {
      close: async () => {
        this.subs = this.subs.filter((s) => s !== sub);
        await sub.tail;
      },
    };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    const tails = this.subs.map((s) => s.tail);
    this.subs = [];
    await Promise.all(tails);
  }
}
