// Persists one stream's accepted messages in order, batching what arrives while a write is in
// flight (and within one tick) into one transaction: under load the database sees a few commits
// per second per stream instead of one per message, and publish order equals accept order.
import type { ChatMessage } from './chat.types.js';

interface Pending {
  msg: ChatMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class MessageWriter {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(
    /** Stores a batch and hands it to the relay; a rejection fails every message of the batch. */
    private readonly persist: (batch: ChatMessage[]) => Promise<void>,
    /** Called each time the queue runs dry. */
    private readonly onDrained: () => void = () => {},
    private readonly maxBatch = 500,
  ) {}

  write(msg: ChatMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.persist(batch.map((p) => p.msg));
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = null;
    this.onDrained();
  }

  /** Resolves once everything written so far is persisted (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  get busy(): boolean {
    return this.running !== null;
  }
}
