// HTTP for webhooks (per the public contract) and the capability that wires them: the bus
// consumer that queues deliveries for new events, and the dispatcher that sends them. Business
// rules live in WebhooksService.
import { Type } from 'typebox';
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { consumeEvents } from '../events/events.consumer.js';
import type { Subscription } from '../infra/bus/bus.js';
import { requireUser } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { WebhookDispatcher } from './webhooks.dispatcher.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { CreatedWebhook, CreateWebhookBody, DeliveriesQuery, Delivery, DeliveryList, DeliveryParams, RotateBody, RotatedSecret, Webhook, WebhookList, WebhookParams } from './webhooks.schemas.js';
import { SecretBox } from './webhooks.secrets.js';
import { WEBHOOK_EVENTS, WebhooksService } from './webhooks.service.js';
import { TargetPolicy } from './webhooks.target.js';

const tags = ['webhooks'];
const security = [{ bearer: [] }];

export function webhooksCapability(c: Container): Capability {
  const cfg = c.config.webhooks;
  const log = c.logger.child({ component: 'webhooks' });
  const repo = new WebhooksRepository(c.db);
  const secrets = SecretBox.fromConfig(c.config, log);
  const policy = new TargetPolicy({ allowPrivate: c.config.webhooksAllowPrivate, allowedHosts: cfg.allowedHosts });
  const service = new WebhooksService(repo, secrets, policy, cfg);
  const dispatcher = new WebhookDispatcher(repo, secrets, policy, cfg, log, c.metrics);
  // Subscribed now, before any relay starts, so no event published at start-up passes unseen.
  const subscription: Subscription = consumeEvents(
    c.bus,
    c.db,
    {
      name: 'webhooks',
      topics: ['videos.events', 'streams.events'],
      types: WEBHOOK_EVENTS,
      handle: async (trx, events) => void (await service.enqueueFor(trx, events)),
      afterCommit: () => dispatcher.nudge(),
    },
    log,
  );

  return {
    name: 'webhooks',
    routes(app: NovaApp) {
      app.post(
        '/api/v1/webhooks',
        {
          schema: { tags, security, summary: 'Subscribe a URL to events of your videos and streams', body: CreateWebhookBody, response: { 201: CreatedWebhook, ...problems(400, 401, 409, 422) } },
        },
        async (req, reply) => {
          const created = await service.create(requireUser(req), req.body.url, req.body.events);
          return reply.code(201).send(created);
        },
      );

      app.get(
        '/api/v1/webhooks',
        {
          schema: { tags, security, summary: 'Your webhooks', response: { 200: WebhookList, ...problems(401) } },
        },
        async (req) => ({ items: await service.list(requireUser(req)) }),
      );

      app.get(
        '/api/v1/webhooks/:id',
        {
          schema: { tags, security, summary: 'One webhook', params: WebhookParams, response: { 200: Webhook, ...problems(400, 401, 403, 404) } },
        },
        async (req) => service.get(requireUser(req), req.params.id),
      );

      app.delete(
        '/api/v1/webhooks/:id',
        {
          schema: {
            tags,
            security,
            summary: 'Delete a webhook and its pending deliveries',
            params: WebhookParams,
            response: { 204: Type.Null({ description: 'No content' }), ...problems(400, 401, 403, 404) },
          },
        },
        async (req, reply) => {
          await service.delete(requireUser(req), req.params.id);
          return reply.code(204).send(null);
        },
      );

      app.post(
        '/api/v1/webhooks/:id/secret',
        {
          schema: { tags, security, summary: 'Rotate the signing secret', params: WebhookParams, body: Type.Optional(RotateBody), response: { 200: RotatedSecret, ...problems(400, 401, 403, 404) } },
        },
        async (req) => service.rotateSecret(requireUser(req), req.params.id, req.body?.grace_seconds ?? 0),
      );

      app.get(
        '/api/v1/webhooks/:id/deliveries',
        {
          schema: {
            tags,
            security,
            summary: 'Deliveries of a webhook with every attempt, newest first',
            params: WebhookParams,
            querystring: DeliveriesQuery,
            response: { 200: DeliveryList, ...problems(400, 401, 403, 404) },
          },
        },
        async (req) => service.deliveries(requireUser(req), req.params.id, req.query.limit, req.query.cursor),
      );

      app.post(
        '/api/v1/webhooks/:id/deliveries/:delivery_id/redeliver',
        {
          schema: { tags, security, summary: 'Send a delivery again now (same event id)', params: DeliveryParams, response: { 202: Delivery, ...problems(400, 401, 403, 404) } },
        },
        async (req, reply) => {
          const d = await service.redeliver(requireUser(req), req.params.id, req.params.delivery_id);
          dispatcher.nudge();
          return reply.code(202).send(d);
        },
      );
    },
    async start() {
      dispatcher.start();
    },
    async stop() {
      await dispatcher.stop();
      await subscription.close();
    },
  };
}
