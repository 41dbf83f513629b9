// The Kafka adapter pointed at a port where no broker listens: the relay keeps running and backs
// off, nothing is delivered, the API keeps answering, /readyz names Kafka as down, and the process
// stops cleanly. Restarted on the same data without the broker setting (in-process bus), every
// event recorded meanwhile is delivered: nothing was lost while the broker was unreachable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createWebhook } from '../src/client/webhooks.client.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import { startTestNova } from './helpers/nova.js';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('Kafka adapter with no broker reachable', () => {
  it('does not crash the relay, delivers nothing, and loses nothing', async () => {
    const hits: Array<{ id: string; data: { video_id: string } }> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const relayEnv = { OUTBOX_BACKOFF_MIN_MS: '50', OUTBOX_BACKOFF_MAX_MS: '300', OUTBOX_POLL_INTERVAL_MS: '100' };

    let t = await startTestNova({ ...relayEnv, KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`, KAFKA_TOPIC_PREFIX: 'nova-test.' });
    const dataDir = t.dataDir;
    try {
      const { client, user } = await t.client.newUser('kdown');
      assert.equal((await createWebhook(client, hookUrl, ['video.ready'])).status, 201);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const key = `kv-${i % 4}`;
        const env = await t.nova.container.db.kysely.transaction().execute((trx) =>
          appendEvent(trx, 'video.ready', key, { video_id: key, owner_id: user.id, duration_seconds: i, renditions: 1, timestamp: new Date().toISOString() }),
        );
        ids.push(env.event_id);
      }
      await until('several failed relay rounds', async () => metric((await t.client.get<string>('/metrics')).body, 'nova_outbox_publish_errors_total') >= 3);

      const metrics = (await t.client.get<string>('/metrics')).body;
      assert.equal(metric(metrics, 'nova_outbox_pending_events'), 20, 'all 20 events wait in the outbox');
      assert.ok(metric(metrics, 'nova_outbox_oldest_pending_age_seconds') > 0);
      const rows = await t.nova.container.db.kysely.selectFrom('outbox').select(['delivered_at', 'last_error']).execute();
      assert.equal(rows.length, 20);
      assert.ok(rows.every((r) => r.delivered_at === null), 'nothing is marked delivered');
      assert.ok(rows.some((r) => r.last_error), 'the publish error is recorded');
      assert.equal(hits.length, 0, 'nothing reached any consumer');

      const ready = await t.client.get<{ checks: Record<string, string>; detail: string }>('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.kafka, 'down');
      assert.match(ready.body.detail, /kafka/);
      assert.equal((await t.client.get('/healthz')).status, 200, 'the process is alive');
      assert.equal((await client.me()).status, 200, 'requests are served while the bus is down');
    } finally {
      await t.stop({ keepData: true });
    }

    // The same data, the in-process bus: the backlog goes out.
    t = await startTestNova({ ...relayEnv, DATA_DIR: dataDir });
    try {
      await until('all 20 deliveries', () => hits.length >= 20);
      assert.equal(new Set(hits.map((h) => h.id)).size, 20);
      const pending = await t.nova.container.db.kysely.selectFrom('outbox').select('seq').where('delivered_at', 'is', null).execute();
      assert.equal(pending.length, 0);
    } finally {
      await t.stop();
      receiver.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
