// API fuzzer driven by the OpenAPI document at /docs/json (routes are discovered, never listed):
// for every operation, generated and mutated path, query, header and body values, as anonymous, a
// user and an admin, against an in-process Nova on SQLite. Pass: no 5xx, every error response is
// problem+json, and the service is still ready afterwards. Counts are bounded (FUZZ_REQUESTS).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestNova, type TestNova } from '../helpers/nova.js';
import { nastyArb, operationsOf, schemaArb, type ArbContext, type OpenApiDoc, type Operation } from './fuzz/openapi.arbitraries.js';

/** Requests to send in all (at least); FUZZ_REQUESTS may lower it for a quick local look. */
const TARGET = Number(process.env.FUZZ_REQUESTS ?? 21_000);
const PARALLEL = 4;
const REQUEST_TIMEOUT_MS = 20_000;

// Rate limits raised so the fuzzer reaches the handlers instead of 429s (the limits have their own tests).
const ENV = {
  LOGIN_MAX_ATTEMPTS: '1000000',
  REGISTER_MAX_PER_ADDRESS: '0',
  ANON_VIEWS_PER_MINUTE: '1000000',
  WATCH_REPORTS_PER_MINUTE: '1000000',
  UPLOAD_MAX_PENDING_PER_USER: '0',
  WEBHOOKS_MAX_PER_USER: '1000',
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
  STREAMS_MAX_PER_ADDRESS: '1000',
  UPLOAD_MAX_BYTES: String(1024 * 1024),
};

type Identity = 'anonymous' | 'user' | 'admin';

interface Case {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  extraQuery: [string, unknown] | null;
  headers: Record<string, unknown>;
  body: unknown;
  bodyMode: 'schema' | 'raw' | 'none' | 'other-type';
  raw: string;
}

/** Percent-encodes UTF-8 bytes; lone surrogates (which encodeURIComponent refuses) become U+FFFD. */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('');
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '[object]';
    }
  }
  return String(v);
}

function buildUrl(base: string, op: Operation, c: Case): string {
  let path = op.path;
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    const raw = text(c.path[p.name] ?? 'x');
    // The wildcard keeps its slashes: it is a path below the route.
    const encoded = p.name === '*' ? raw.split('/').map(pct).join('/') : pct(raw) || 'x';
    path = path.replace(`{${p.name}}`, encoded);
  }
  const q: string[] = [];
  for (const [k, v] of Object.entries(c.query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) && v.length ? v : [v]) q.push(`${pct(k)}=${pct(text(item))}`);
  }
  if (c.extraQuery) q.push(`${pct(c.extraQuery[0])}=${pct(text(c.extraQuery[1]))}`);
  return `${base}${path}${q.length ? `?${q.join('&')}` : ''}`;
}

const HEADER_NAMES = [
  'tus-resumable',
  'upload-length',
  'upload-offset',
  'upload-metadata',
  'upload-defer-length',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'last-event-id',
  'range',
  'if-none-match',
  'x-request-id',
  'accept',
];
const RAW_BODIES = ['{', '}', '[', 'null', '1e309', '-1e309', '{"a":1e309}', '[1e309]', '""', '"\\u0000"', '{"__proto__":{"x":1}}', '\u0000', 'x'.repeat(2000), '{"a":'.repeat(200), '['.repeat(5000)];

function caseArb(op: Operation, ctx: ArbContext): fc.Arbitrary<Case> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const wildcard = fc.oneof(
    fc.constantFrom('master.m3u8', 'index.m3u8', '720p/index.m3u8', '360p/seg_00000.ts', 'thumbnail.jpg', '../../../etc/passwd', '..%2f..%2fnova.db', '', '/', 'a/../../b'),
    fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }).map((parts) => parts.join('/')),
  );
  const pathArb = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, p.name === '*' ? wildcard : schemaArb(p.schema, ctx, 0.2)])));
  const queryArb = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, schemaArb(p.schema, ctx, 0.2)])), { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) });
  const headerArb = fc.dictionary(fc.constantFrom(...HEADER_NAMES), fc.oneof(fc.constantFrom('1.0.0', '0', '1', '-1', '1e309', 'bytes=0-1', 'bytes=5-1', '*'), nastyArb.map(text)), { maxKeys: 3 });
  return fc.record({
    path: pathArb,
    query: queryArb,
    extraQuery: fc.option(fc.tuple(fc.string({ maxLength: 10 }), nastyArb), { freq: 8 }),
    headers: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: headerArb }),
    body: op.body ? schemaArb(op.body.schema, ctx, 0.15) : fc.option(nastyArb, { freq: 4 }),
    bodyMode: fc.constantFrom<Case['bodyMode']>('schema', 'schema', 'schema', 'schema', 'raw', 'none', 'other-type'),
    raw: fc.constantFrom(...RAW_BODIES),
  });
}

interface Failure {
  route: string;
  identity: Identity;
  detail: string;
}

describe('API fuzzer (OpenAPI-driven, anonymous / user / admin)', () => {
  let t: TestNova;
  let doc: OpenApiDoc;
  const tokens: Record<Identity, string | null> = { anonymous: null, user: null, admin: null };
  const passwords: Record<string, string> = {};
  const known = { ids: new Set<string>(), names: new Set<string>(['feed-ranker', 'fuzz-exp', 'fuzz_user', 'fuzz_admin']) };

  before(async () => {
    t = await startTestNova(ENV);
    const admin = t.client.as(null);
    const user = t.client.as(null);
    for (const [who, c] of [
      ['admin', admin],
      ['user', user],
    ] as const) {
      const res = await c.register(`fuzz_${who}`, `password-${who}-123`);
      assert.equal(res.status, 201);
      passwords[who] = `password-${who}-123`;
      tokens[who] = res.body.token;
      known.ids.add(res.body.user.id);
    }
    // Things that exist, so generated ids and names reach past "not found".
    const v = await user.post<{ video: { id: string } }>('/api/v1/videos', { title: 'fuzz video' });
    known.ids.add(v.body.video.id);
    const s = await user.post<{ stream: { id: string } }>('/api/v1/streams', { title: 'fuzz stream' });
    known.ids.add(s.body.stream.id);
    const w = await user.post<{ id: string }>('/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['video.ready'] });
    if (w.status === 201) known.ids.add(w.body.id);
    await admin.post('/api/v1/experiments', {
      key: 'fuzz-exp',
      variants: [
        { key: 'a', weight: 1 },
        { key: 'b', weight: 1 },
      ],
      traffic_percent: 100,
      metric: 'click',
    });
    doc = (await (await fetch(`${t.url}/docs/json`)).json()) as OpenApiDoc;
  });

  after(async () => {
    await t?.stop();
  });

  it('answers every generated request without a 5xx, errors as problem+json, and stays ready', async () => {
    const ops = operationsOf(doc);
    assert.ok(ops.length >= 40, `the document lists ${ops.length} operations`);
    const identities: Identity[] = ['anonymous', 'user', 'admin'];
    // Deletions go last, so the things created for the fuzzer still exist while the other routes run.
    const pairs = ops.flatMap((op) => identities.map((who) => ({ op, who }))).sort((a, b) => Number(a.op.method === 'DELETE') - Number(b.op.method === 'DELETE'));
    const runsPerPair = Math.max(1, Math.ceil(TARGET / pairs.length));
    const ctx: ArbContext = { doc, knownIds: () => [...known.ids], knownNames: () => [...known.names] };
    const failures: Failure[] = [];
    let sent = 0;
    const started = Date.now();

    const relogin = async (who: Identity) => {
      if (who === 'anonymous') return;
      const c = t.client.as(null);
      const res = await c.login(`fuzz_${who}`, passwords[who]!);
      if (res.status === 200) tokens[who] = res.body.token;
    };

    /** Sends one case; returns a description of what is wrong with the answer, or null. */
    const send = async (op: Operation, who: Identity, c: Case): Promise<string | null> => {
      const url = buildUrl(t.url, op, c);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(c.headers)) headers[k] = text(v).replace(/[^\t\x20-\x7e]/g, '?');
      if (tokens[who]) headers.authorization = `Bearer ${tokens[who]}`;
      let body: string | undefined;
      if (op.method !== 'GET' && op.method !== 'HEAD') {
        if (c.bodyMode === 'raw') {
          body = c.raw;
          headers['content-type'] = op.body?.contentType ?? 'application/json';
        } else if (c.bodyMode === 'other-type') {
          body = text(c.body);
          headers['content-type'] = 'text/plain';
        } else if (c.bodyMode === 'schema' && c.body !== undefined) {
          const type = op.body?.contentType ?? 'application/json';
          headers['content-type'] = type;
          body =
            type === 'application/x-www-form-urlencoded' && typeof c.body === 'object' && c.body !== null
              ? Object.entries(c.body)
                  .map(([k, v]) => `${pct(k)}=${pct(text(v))}`)
                  .join('&')
              : (JSON.stringify(c.body) ?? 'null');
        }
      }
      sent++;
      let res: Response;
      try {
        res = await fetch(url, { method: op.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch (err) {
        return `${op.method} ${url}: no answer (${(err as Error).message})`;
      }
      const type = res.headers.get('content-type') ?? '';
      let answer = '';
      if (type.startsWith('text/event-stream')) await res.body?.cancel();
      else answer = await res.text();
      if (res.status === 401 && who !== 'anonymous') await relogin(who);
      const where = `${op.method} ${url} body=${JSON.stringify(body?.slice(0, 200))} headers=${JSON.stringify(c.headers)}`;
      if (res.status >= 500) return `${where} → ${res.status} ${answer.slice(0, 300)}`;
      if (res.status >= 400 && op.method !== 'HEAD') {
        if (!type.startsWith('application/problem+json')) return `${where} → ${res.status} with content-type "${type}": ${answer.slice(0, 200)}`;
        let p: { type?: unknown; title?: unknown; status?: unknown; detail?: unknown };
        try {
          p = JSON.parse(answer);
        } catch {
          return `${where} → ${res.status} problem+json that is not JSON: ${answer.slice(0, 200)}`;
        }
        if (typeof p.type !== 'string' || typeof p.title !== 'string' || p.status !== res.status || typeof p.detail !== 'string') {
          return `${where} → ${res.status} incomplete problem: ${answer.slice(0, 200)}`;
        }
        if (/\bat .+\.(ts|js):\d+|SqliteError|SQLITE_|syntax error at or near/.test(answer)) return `${where} → ${res.status} leaks internals: ${answer.slice(0, 200)}`;
      }
      return null;
    };

    const queue = [...pairs];
    const worker = async () => {
      for (let pair = queue.shift(); pair; pair = queue.shift()) {
        const { op, who } = pair;
        let lastWrong = '';
        const pairStart = Date.now();
        try {
          await fc.assert(
            fc.asyncProperty(caseArb(op, ctx), async (c) => {
              const wrong = await send(op, who, c);
              if (wrong) {
                lastWrong = wrong;
                throw new Error(wrong);
              }
            }),
            { numRuns: runsPerPair, endOnFailure: true },
          );
        } catch (err) {
          failures.push({ route: `${op.method} ${op.path}`, identity: who, detail: (lastWrong || (err as Error).message).slice(0, 700) });
        }
        if (process.env.FUZZ_VERBOSE) console.log(`# ${op.method} ${op.path} as ${who}: ${Date.now() - pairStart} ms`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`# fuzz: ${sent} requests over ${ops.length} operations × ${identities.length} identities in ${seconds} s; ${failures.length} failing route/identity pairs`);
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 200, 'still ready after the fuzzing');
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} route/identity pairs failed`);
    assert.ok(sent >= Math.min(TARGET, 20_000), `sent ${sent} requests`);
  });
});
