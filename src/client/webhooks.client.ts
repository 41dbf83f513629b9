// Webhook calls of the typed client (used by tests), and the receiver-side signature check that a
// webhook consumer would run: parse Nova-Signature, recompute HMAC-SHA256 over "<t>.<raw body>",
// compare in constant time and refuse stale timestamps.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AttemptJson, CreatedWebhookJson, DeliveryJson, DeliveryListJson, RotatedSecretJson, WebhookJson, WebhookListJson } from '../webhooks/webhooks.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type WebhookInfo = WebhookJson;
export type WebhookAttemptInfo = AttemptJson;
export type WebhookDeliveryInfo = DeliveryJson;

export function createWebhook(c: NovaClient, url: string, events: string[]): Promise<ApiResponse<CreatedWebhookJson>> {
  return c.post('/api/v1/webhooks', { url, events });
}

export function listWebhooks(c: NovaClient): Promise<ApiResponse<WebhookListJson>> {
  return c.get('/api/v1/webhooks');
}

export function getWebhook(c: NovaClient, id: string): Promise<ApiResponse<WebhookInfo>> {
  return c.get(`/api/v1/webhooks/${id}`);
}

export function deleteWebhook(c: NovaClient, id: string): Promise<ApiResponse<unknown>> {
  return c.delete(`/api/v1/webhooks/${id}`);
}

export function rotateWebhookSecret(c: NovaClient, id: string, graceSeconds?: number): Promise<ApiResponse<RotatedSecretJson>> {
  return c.post(`/api/v1/webhooks/${id}/secret`, graceSeconds === undefined ? {} : { grace_seconds: graceSeconds });
}

export function listDeliveries(c: NovaClient, id: string, query: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<DeliveryListJson>> {
  const qs = new URLSearchParams();
  if (query.limit !== undefined) qs.set('limit', String(query.limit));
  if (query.cursor !== undefined) qs.set('cursor', query.cursor);
  return c.get(`/api/v1/webhooks/${id}/deliveries${qs.size ? `?${qs.toString()}` : ''}`);
}

export function redeliver(c: NovaClient, id: string, deliveryId: string): Promise<ApiResponse<WebhookDeliveryInfo>> {
  return c.post(`/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`);
}

/**
 * True when `header` (Nova-Signature) carries a v1 signature of `rawBody` made with `secret`, and
 * its timestamp is within `toleranceSeconds` of now.
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, rawBody: string, toleranceSeconds = 300, now = Date.now()): boolean {
  if (!header) return false;
  let t: string | undefined;
  const sigs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2);
    if (k === 't') t = v;
    else if (k === 'v1' && v) sigs.push(v);
  }
  if (!t || !/^\d+$/.test(t) || Math.abs(now / 1000 - Number(t)) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return sigs.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
