// Structured logs (pino). Secrets never reach a log line: authorization headers, passwords,
// tokens, stream keys and webhook secrets are redacted, and `?token=` is stripped from URLs.
import pino, { type Logger } from 'pino';

export function createLogger(level: string, name = 'nova'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', '*.stream_key', '*.secret', 'password', 'token', 'stream_key', 'secret'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string; headers?: Record<string, unknown> }) => ({
        method: req.method,
        url: req.url ? scrubUrl(req.url) : undefined,
        remoteAddress: req.ip,
        userAgent: req.headers?.['user-agent'],
      }),
    },
  });
}

/** Removes credentials from a URL before it is logged. */
export function scrubUrl(url: string): string {
  return url.replace(/([?&](?:token|key|secret|signature)=)[^&]*/gi, '$1[redacted]');
}

export type { Logger };
