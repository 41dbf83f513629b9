// Webhooks over real HTTP, on SQLite and on the real Postgres: a local receiver verifies every
// signature and answers 500, 500, 200 → one successful delivery after two retries, all three
// attempts in the log, the same event id each time. Also: who may see which events, manual
// redelivery, secret rotation (with and without a grace period), the queue surviving a restart,
// access rules and metrics.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  verifyWebhookSignature,
  type WebhookDeliveryInfo,
} from '../src/client/webhooks.client.js';
import { appendEvent } from '../src/events/outbox.repository.js';
import type { EventMap, EventType } from '../src/events/events.types.js';
import { startTestNova, type TestNova } from './helpers/nova.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/postgres.js';

interface Hit {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
}

interface Receiver {
  url: string;
  hits: Hit[];
  /** Status for the n-th request (0-based). */
  respond: (n: number) => number;
  close(): Promise<void>;
}

async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const hits: Hit[] = [];
  const r: Receiver = { url: '', hits, respond, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = r.respond(hits.length);
      hits.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function emit<K extends EventType>(t: TestNova, type: K, key: string, payload: EventMap[K]): Promise<string> {
  const env = await t.nova.container.db.kysely.transaction().execute((trx) => appendEvent(trx, type, key, payload));
  return env.event_id;
}

const now = () => new Date().toISOString();

async function deliveriesOf(c: NovaClient, id: string): Promise<WebhookDeliveryInfo[]> {
  const res = await listDeliveries(c, id);
  assert.equal(res.status, 200);
  return res.body.items;
}

function suite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`webhooks (${name})`, async () => {
    const reason = await skip();
    let t: TestNova;
    let cleanup: () => Promise<void>;
    let receiver: Receiver;
    before(async () => {
      if (reason) return;
      const e = await env();
      cleanup = e.cleanup;
      receiver = await startReceiver();
      t = await startTestNova({ WEBHOOKS_RETRY_BASE_MS: '100', OUTBOX_POLL_INTERVAL_MS: '100', ...e.env });
    });
    after(async () => {
      if (reason) return;
      await t.stop();
      await receiver.close();
      await cleanup();
    });

    it('500, 500, then 200: one successful delivery after two retries, signed, same id, all attempts logged', { skip: reason }, async () => {
      const { client, user } = await t.client.newUser('hook');
      const other = await t.client.newUser('other');
      receiver.hits.length = 0;
      receiver.respond = (n) => (n < 2 ? 500 : 200);
      const created = await createWebhook(client, receiver.url, ['video.ready']);
      assert.equal(created.status, 201);
      assert.match(created.body.id, /^[0-9a-f-]{36}$/);
      assert.match(created.body.secret, /^whsec_/);
      const secret = created.body.secret;

      // Someone else's video and an event type not subscribed to: neither may reach this webhook.
      await emit(t, 'video.ready', 'v-other', { video_id: 'v-other', owner_id: other.user.id, duration_seconds: 3, renditions: 1, timestamp: now() });
      await emit(t, 'video.failed', 'v-mine', { video_id: 'v-mine', owner_id: user.id, error: 'x', timestamp: now() });
      const eventId = await emit(t, 'video.ready', 'v-mine', { video_id: 'v-mine', owner_id: user.id, duration_seconds: 3, renditions: 2, timestamp: now() });

      await until('the delivery to succeed', async () => (await deliveriesOf(client, created.body.id))[0]?.status === 'succeeded');
      assert.equal(receiver.hits.length, 3, 'exactly three requests: two failures, one success');
      for (const hit of receiver.hits) {
        assert.ok(verifyWebhookSignature(secret, hit.headers['nova-signature'] as string, hit.body), `signature verifies: ${hit.headers['nova-signature']}`);
        assert.ok(!verifyWebhookSignature('whsec_wrong', hit.headers['nova-signature'] as string, hit.body));
        assert.equal(hit.json.id, eventId, 'the same id on every attempt');
        assert.equal(hit.headers['nova-event-id'], eventId);
        assert.equal(hit.json.type, 'video.ready');
        assert.equal(hit.headers['content-type'], 'application/json');
        assert.match(hit.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepEqual(Object.keys(hit.json).sort(), ['created_at', 'data', 'id', 'type']);
        assert.equal(hit.json.data.video_id, 'v-mine');
        assert.equal(hit.json.data.renditions, 2);
        assert.equal(hit.json.data.event_id, undefined, 'data is the payload, not the envelope');
      }
      assert.equal(receiver.hits[0].body, receiver.hits[2].body, 'the body is identical on retries');

      const deliveries = await deliveriesOf(client, created.body.id);
      assert.equal(deliveries.length, 1, 'only the subscribed event of this user');
      const d = deliveries[0];
      assert.equal(d.event_id, eventId);
      assert.equal(d.attempt_count, 3);
      assert.deepEqual(
        d.attempts.map((a) => a.status_code),
        [500, 500, 200],
      );
      assert.deepEqual(
        d.attempts.map((a) => a.attempt),
        [1, 2, 3],
      );
      assert.equal(d.attempts.filter((a) => a.status_code === 200).length, 1);
      assert.equal(d.attempts[0].error, 'HTTP 500');
      assert.equal(d.next_attempt_at, null);
      assert.ok(d.completed_at);

      // The other user's webhook log is theirs alone.
      assert.equal((await listDeliveries(other.client, created.body.id)).status, 403);
      assert.equal((await listDeliveries(client.as(null), created.body.id)).status, 401);

      // Manual redelivery: one more attempt, same id, marked manual.
      const again = await redeliver(client, created.body.id, d.id);
      assert.equal(again.status, 202);
      await until('the redelivery', () => receiver.hits.length === 4);
      assert.equal(receiver.hits[3].json.id, eventId);
      await until('the manual attempt in the log', async () => (await deliveriesOf(client, created.body.id))[0].attempts.length === 4);
      const log = (await deliveriesOf(client, created.body.id))[0];
      assert.equal(log.attempts[3].manual, true);
      assert.equal(log.status, 'succeeded');

      // Rotation: the new secret signs, the old one no longer does.
      const rotated = await rotateWebhookSecret(client, created.body.id);
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body.secret, secret);
      assert.equal(rotated.body.previous_secret_expires_at, null);
      await redeliver(client, created.body.id, d.id);
      await until('a delivery signed with the new secret', () => receiver.hits.length === 5);
      assert.ok(verifyWebhookSignature(rotated.body.secret, receiver.hits[4].headers['nova-signature'] as string, receiver.hits[4].body));
      assert.ok(!verifyWebhookSignature(secret, receiver.hits[4].headers['nova-signature'] as string, receiver.hits[4].body));

      // Rotation with a grace period: both secrets sign until it ends.
      const graced = await rotateWebhookSecret(client, created.body.id, 3600);
      assert.ok(graced.body.previous_secret_expires_at);
      await redeliver(client, created.body.id, d.id);
      await until('a delivery signed twice', () => receiver.hits.length === 6);
      const sig = receiver.hits[5].headers['nova-signature'] as string;
      assert.equal(sig.split(',').filter((p) => p.startsWith('v1=')).length, 2);
      assert.ok(verifyWebhookSignature(graced.body.secret, sig, receiver.hits[5].body));
      assert.ok(verifyWebhookSignature(rotated.body.secret, sig, receiver.hits[5].body));
      assert.equal((await getWebhook(client, created.body.id)).body.previous_secret_expires_at, graced.body.previous_secret_expires_at);
    });

    it('stream events reach the stream creator, also stream.ended without a creator_id', { skip: reason }, async () => {
      const { client, user } = await t.client.newUser('streamer');
      const rec = await startReceiver();
      try {
        const created = await createWebhook(client, rec.url, ['stream.started', 'stream.ended']);
        assert.equal(created.status, 201);
        await emit(t, 'stream.started', 's-1', { stream_id: 's-1', creator_id: user.id, title: 'hello', timestamp: now() });
        await emit(t, 'stream.ended', 's-1', { stream_id: 's-1', duration_seconds: 10, viewer_count: 2, timestamp: now() });
        await until('both stream events', () => rec.hits.length === 2);
        assert.deepEqual(rec.hits.map((h) => h.json.type).sort(), ['stream.ended', 'stream.started']);
        for (const h of rec.hits) assert.ok(verifyWebhookSignature(created.body.secret, h.headers['nova-signature'] as string, h.body));
      } finally {
        await rec.close();
      }
    });

    it('subscriptions: list and get without the secret, validation, ownership, delete', { skip: reason }, async () => {
      const { client } = await t.client.newUser('crud');
      const stranger = await t.client.newUser('stranger');
      const created = await createWebhook(client, `${receiver.url}?tenant=1`, ['video.progress', 'video.upload.completed']);
      assert.equal(created.status, 201);
      const list = await listWebhooks(client);
      assert.equal(list.status, 200);
      assert.equal(list.body.items.length, 1);
      assert.deepEqual(list.body.items[0].events, ['video.progress', 'video.upload.completed']);
      assert.ok(!JSON.stringify(list.body).includes(created.body.secret), 'the secret is shown only at creation');
      const got = await getWebhook(client, created.body.id);
      assert.equal(got.status, 200);
      assert.equal((got.body as unknown as Record<string, unknown>).secret, undefined);
      assert.equal((await listWebhooks(stranger.client)).body.items.length, 0);
      assert.equal((await getWebhook(stranger.client, created.body.id)).status, 403);
      assert.equal((await deleteWebhook(stranger.client, created.body.id)).status, 403);
      assert.equal((await rotateWebhookSecret(stranger.client, created.body.id)).status, 403);
      assert.equal((await createWebhook(client.as(null), receiver.url, ['video.ready'])).status, 401);

      const badType = await createWebhook(client, receiver.url, ['video.viewed']);
      assert.equal(badType.status, 400);
      assert.ok((badType.body as unknown as Problem).errors?.some((e) => e.field.startsWith('events')));
      assert.equal((await createWebhook(client, receiver.url, [])).status, 400);
      const ftp = await createWebhook(client, 'ftp://example.com/x', ['video.ready']);
      assert.equal(ftp.status, 422);
      assert.match((ftp.body as unknown as Problem).detail, /http or https/);
      assert.equal((await createWebhook(client, 'not a url', ['video.ready'])).status, 422);
      assert.equal((await createWebhook(client, 'http://user:pw@example.com/', ['video.ready'])).status, 422);

      assert.equal((await getWebhook(client, '0190d0a4-0000-7000-8000-000000000000')).status, 404);
      assert.equal((await getWebhook(client, 'nope')).status, 400);
      assert.equal((await deleteWebhook(client, created.body.id)).status, 204);
      assert.equal((await getWebhook(client, created.body.id)).status, 404);
    });

    it('reports webhook and outbox metrics', { skip: reason }, async () => {
      const metrics = await t.client.get<string>('/metrics');
      assert.match(metrics.body, /nova_webhook_deliveries_total\{result="success"\} \d+/);
      assert.match(metrics.body, /nova_webhook_deliveries_total\{result="failure"\} \d+/);
      assert.match(metrics.body, /nova_outbox_pending_events \d+/);
      assert.match(metrics.body, /nova_outbox_oldest_pending_age_seconds \d/);
      assert.match(metrics.body, /nova_outbox_published_total\{topic="videos.events"\} \d+/);
      assert.match(metrics.body, /nova_outbox_publish_errors_total \d+/);
    });
  });
}

suite(
  'sqlite',
  async () => ({ env: {}, cleanup: async () => {} }),
  async () => false,
);

suite(
  'postgres',
  async () => {
    const db: TestDatabase = await createTestDatabase();
    return { env: { DATABASE_URL: db.url }, cleanup: () => db.drop() };
  },
  postgresSkipReason,
);

describe('webhook delivery queue', () => {
  it('survives a restart: pending deliveries go out from the new process, with the same id', async () => {
    const receiver = await startReceiver(() => 503);
    let t = await startTestNova({ WEBHOOKS_RETRY_BASE_MS: '200' });
    const dataDir = t.dataDir;
    try {
      const { client, user } = await t.client.newUser('restart');
      const created = await createWebhook(client, receiver.url, ['video.deleted']);
      const eventId = await emit(t, 'video.deleted', 'v-r', { video_id: 'v-r', owner_id: user.id, timestamp: now() });
      await until('a failed attempt', () => receiver.hits.length >= 1);
      await t.stop({ keepData: true });

      receiver.respond = () => 200;
      t = await startTestNova({ DATA_DIR: dataDir, WEBHOOKS_RETRY_BASE_MS: '200' });
      const again = t.client.as(client.token);
      await until('the delivery to succeed after the restart', async () => (await deliveriesOf(again, created.body.id))[0]?.status === 'succeeded');
      const d = (await deliveriesOf(again, created.body.id))[0];
      assert.equal(d.attempts[0].status_code, 503);
      assert.equal(d.attempts.at(-1)!.status_code, 200);
      assert.ok(receiver.hits.every((h) => h.json.id === eventId));
      // The secret survived the restart too (sealed with the key file in DATA_DIR).
      assert.ok(verifyWebhookSignature(created.body.secret, receiver.hits.at(-1)!.headers['nova-signature'] as string, receiver.hits.at(-1)!.body));
    } finally {
      await t.stop();
      await receiver.close();
      const fs = await import('node:fs');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
