// Request and response schemas of the webhook endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';
import { WEBHOOK_EVENTS } from './webhooks.service.js';

export const EventTypeSchema = Type.Union(
  WEBHOOK_EVENTS.map((e) => Type.Literal(e)),
  { description: 'An event type a webhook can receive.' },
);

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL receiving POSTed deliveries' }),
    events: Type.Array(EventTypeSchema, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  previous_secret_expires_at: Type.Union([Type.String(), Type.Null()], { description: 'While set, deliveries are also signed with the previous secret.' }),
});

export const CreatedWebhook = Type.Object({ ...Webhook.properties, secret: Type.String({ description: 'Signing secret; shown only now.' }) });

export const WebhookList = Type.Object({ items: Type.Array(Webhook) });

export const WebhookParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const DeliveryParams = Type.Object({ id: Type.String({ format: 'uuid' }), delivery_id: Type.String({ format: 'uuid' }) });

export const RotateBody = Type.Object(
  { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 0, description: 'Keep signing with the old secret too for this long.' })) },
  { additionalProperties: false },
);
export const RotatedSecret = Type.Object({ id: Type.String(), secret: Type.String(), previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]) });

export const DeliveriesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ format: 'uuid' })),
});

export const Attempt = Type.Object({
  attempt: Type.Integer(),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Integer(),
  manual: Type.Boolean(),
  started_at: Type.String(),
});

export const Delivery = Type.Object({
  id: Type.String(),
  event_id: Type.String({ description: 'The `id` of the delivered body; the same on every attempt.' }),
  event_type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempt_count: Type.Integer(),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  next_attempt_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  completed_at: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Array(Attempt),
});

export const DeliveryList = Type.Object({ items: Type.Array(Delivery), next_cursor: Type.Union([Type.String(), Type.Null()]) });

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type WebhookJson = Static<typeof Webhook>;
export type CreatedWebhookJson = Static<typeof CreatedWebhook>;
export type WebhookListJson = Static<typeof WebhookList>;
export type RotatedSecretJson = Static<typeof RotatedSecret>;
export type AttemptJson = Static<typeof Attempt>;
export type DeliveryJson = Static<typeof Delivery>;
export type DeliveryListJson = Static<typeof DeliveryList>;
