// A test adapter: wraps a real bus and makes publishes fail on demand, either before the message
// reaches the inner bus (the broker is down) or after it (the broker took it but the ack was lost,
// so the relay publishes it again), or hold them for a while. Used by the relay tests and the
// benchmark only.
import type { BatchHandler, EventBus, OutgoingMessage, Subscription } from './bus.js';

export type FailureMode = 'before' | 'after';

export class FailureInjectingBus implements EventBus {
  readonly kind: string;
  /** While set, every publish fails in this mode. */
  failing: FailureMode | null = null;
  private failNextCount = 0;
  private failNextMode: FailureMode = 'before';
  /** While set, publishes wait for it before anything else (a slow broker, held by the test). */
  hold: Promise<void> | null = null;
  /** Publish calls seen, and how many of them were made to fail. */
  calls = 0;
  failures = 0;

  constructor(readonly inner: EventBus) {
    this.kind = inner.kind;
  }

  /** Fails the next n publishes in this mode, then behaves again. */
  failNext(n: number, mode: FailureMode = 'before'): void {
    this.failNextCount = n;
    this.failNextMode = mode;
  }

  async publish(topic: string, key: string, value: string): Promise<void> {
    await this.publishBatch([{ topic, key, value }]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    this.calls++;
    if (this.hold) await this.hold;
    let mode: FailureMode | null = this.failing;
    if (!mode && this.failNextCount > 0) {
      this.failNextCount--;
      mode = this.failNextMode;
    }
    if (mode === 'before') {
      this.failures++;
      throw new Error('injected failure: bus unavailable');
    }
    await this.inner.publishBatch(messages);
    if (mode === 'after') {
      this.failures++;
      throw new Error('injected failure: acknowledgement lost');
    }
  }

  subscribe(topics: string[], group: string, handler: BatchHandler): Subscription {
    return this.inner.subscribe(topics, group, handler);
  }

  async ping(): Promise<void> {
    if (this.failing) throw new Error('injected failure: bus unavailable');
    await this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
