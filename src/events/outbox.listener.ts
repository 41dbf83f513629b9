// Wakes the relay when an outbox row commits on any node: a dedicated Postgres connection
// LISTENs on the channel the outbox trigger NOTIFYs at commit. Reconnects with backoff; while it
// is down the relay still polls, so a lost connection only costs latency, never events.
import pg from 'pg';
import type { Logger } from '../infra/logger.js';

export const OUTBOX_CHANNEL = 'nova_outbox';

export class OutboxListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private delay = 500;

  constructor(
    private readonly databaseUrl: string,
    private readonly onNotify: () => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    this.client = client;
    let failed = false;
    const fail = (err?: Error): void => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (this.stopped) return;
      this.logger.debug({ err }, 'outbox listener disconnected; reconnecting');
      this.retryTimer = setTimeout(() => void this.connect(), this.delay);
      this.retryTimer.unref();
      this.delay = Math.min(this.delay * 2, 30_000);
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', () => this.onNotify());
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.delay = 500;
      // Rows may have committed while this connection was down.
      this.onNotify();
    } catch (err) {
      fail(err as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
    }
  }
}
