// One delivery attempt over HTTP(S): signs the body, connects only to checked addresses (see
// webhooks.target), enforces a total timeout, reads at most a little of the answer, and reports the
// status code or a short error. Redirects are not followed and count as failures: a receiver's URL
// should be final, and following one would send the signed payload to a host nobody vetted.
import http from 'node:http';
import https from 'node:https';
import { signatureHeader } from './webhooks.secrets.js';
import { TargetRefusedError, type TargetPolicy } from './webhooks.target.js';

export interface SendRequest {
  url: string;
  body: string;
  secrets: string[];
  eventId: string;
  eventType: string;
  deliveryId: string;
  timeoutMs: number;
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Seconds the receiver asked us to wait (Retry-After on 429/503). */
  retryAfterSeconds: number | null;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof TargetRefusedError) return `refused: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOTALLOWED') return `refused: ${e.message}`;
  const byCode: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: `timed out after ${timeoutMs} ms`,
    EPROTO: 'TLS handshake failed',
  };
  if (e?.code && byCode[e.code]) return byCode[e.code];
  if (e?.code && /CERT|SSL|TLS/.test(e.code)) return `TLS certificate error (${e.code})`;
  return 'request failed';
}

export function sendWebhook(req: SendRequest, policy: TargetPolicy): Promise<SendResult> {
  const started = Date.now();
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<SendResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: Date.now() - started });
    };
    const fail = (err: unknown): void => finish({ ok: false, statusCode: null, error: describe(err, req.timeoutMs), retryAfterSeconds: null });

    let url: URL;
    try {
      url = new URL(req.url);
      policy.checkLiteral(url);
    } catch (err) {
      fail(err);
      return;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: 'POST',
      // No pooled connections: each attempt resolves and checks the host afresh.
      agent: false,
      lookup: policy.lookup as unknown as http.RequestOptions['lookup'],
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(req.body),
        'user-agent': 'Nova-Webhooks/1',
        'nova-signature': signatureHeader(req.secrets, timestamp, req.body),
        'nova-event-id': req.eventId,
        'nova-event-type': req.eventType,
        'nova-delivery-id': req.deliveryId,
      },
    });
    timer = setTimeout(() => {
      request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    }, req.timeoutMs);
    request.on('error', fail);
    request.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) res.destroy();
      });
      const done = (): void => {
        const ok = status >= 200 && status < 300;
        let error: string | null = null;
        if (status >= 300 && status < 400) error = `redirect (${status}) not followed`;
        else if (!ok) error = `HTTP ${status}`;
        const ra = res.headers['retry-after'];
        const retryAfterSeconds = (status === 429 || status === 503) && typeof ra === 'string' && /^\d+$/.test(ra) ? Number(ra) : null;
        finish({ ok, statusCode: status, error, retryAfterSeconds });
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    request.end(req.body);
  });
}
