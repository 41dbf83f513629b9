// Webhook calls of the typed client (used by tests), and the receiver-side signature check that a
// webhook consumer would run: parse Nova-Signature, recompute HMAC-SHA256 over "<t>.<raw body>",
// compare in constant time and refuse stale timestamps.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ApiResponse, NovaClient } from './nova-client.js';

export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
  created_at: string;
  updated_at: string;
  previous_secret_expires_at: string | null;
}

export interface WebhookAttemptInfo {
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  manual: boolean;
  started_at: string;
}

export interface WebhookDeliveryInfo {
  id: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  completed_at: string | null;
  attempts: WebhookAttemptInfo[];
}

export function createWebhook(c: NovaClient, url: string, events: string[]): Promise<ApiResponse<WebhookInfo & { secret: string }>> {
  return c.post('/api/v1/webhooks', { url, events });
}

export function listWebhooks(c: NovaClient): Promise<ApiResponse<{ items: WebhookInfo[] }>> {
  return c.get('/api/v1/webhooks');
}

export function getWebhook(c: NovaClient, id: string): Promise<ApiResponse<WebhookInfo>> {
  return c.get(`/api/v1/webhooks/${id}`);
}

export function deleteWebhook(c: NovaClient, id: string): Promise<ApiResponse<unknown>> {
  return c.delete(`/api/v1/webhooks/${id}`);
}

export function rotateWebhookSecret(c: NovaClient, id: string, graceSeconds?: number): Promise<ApiResponse<{ id: string; secret: string; previous_secret_expires_at: string | null }>> {
  return c.post(`/api/v1/webhooks/${id}/secret`, graceSeconds === undefined ? {} : { grace_seconds: graceSeconds });
}

export function listDeliveries(c: NovaClient, id: string, query: { limit?: number; cursor?: string } = {}): Promise<ApiResponse<{ items: WebhookDeliveryInfo[]; next_cursor: string | null }>> {
  const qs = new URLSearchParams();
  if (query.limit !== undefined) qs.set('limit', String(query.limit));
  if (query.cursor !== undefined) qs.set('cursor', query.cursor);
  return c.get(`/api/v1/webhooks/${id}/deliveries${qs.size ? `?${qs}` : ''}`);
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
