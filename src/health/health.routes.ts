// Liveness (/healthz: the process runs) and readiness (/readyz: every dependency answers).
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';

const TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export function healthCapability(c: Container): Capability {
  return {
    name: 'health',
    routes(app: NovaApp) {
      app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

      app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness of the database, storage and configured services' } }, async (_req, reply) => {
        const results = await Promise.all(
          c.readiness.map(async (r) => {
            try {
              await withTimeout(r.check(), TIMEOUT_MS);
              return { name: r.name, ok: true };
            } catch {
              return { name: r.name, ok: false };
            }
          }),
        );
        const down = results.filter((r) => !r.ok).map((r) => r.name);
        const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'up' : 'down']));
        if (down.length === 0) return { status: 'ready', checks };
        return reply
          .code(503)
          .type('application/problem+json')
          .send({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: `Not ready: ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down.`,
            checks,
          });
      });
    },
  };
}
