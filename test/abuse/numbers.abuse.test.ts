// Finding 4: non-finite numbers ("Infinity", "1e309", "-Infinity", "NaN" in a query; 1e309 in a
// JSON body) are a 400 problem naming the field on every route with a numeric field, found from
// the OpenAPI document; none reaches a handler (the 500s they caused came from SQL).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNova, type TestNova } from '../helpers/nova.js';
import { operationsOf, type JsonSchema, type OpenApiDoc } from './fuzz/openapi.arbitraries.js';

const NON_FINITE = ['Infinity', '-Infinity', '1e309', '-1e309', 'NaN'];

function isNumeric(s: JsonSchema | undefined): boolean {
  return s?.type === 'integer' || s?.type === 'number';
}

/** A value the schema accepts, for parameters that are not under test. */
function validSample(s: JsonSchema | undefined): string {
  const alternative = s?.anyOf?.[0] ?? s?.oneOf?.[0];
  if (alternative) return validSample(alternative);
  if (s?.const !== undefined) return String(s.const);
  if (s?.enum?.length) return String(s.enum[0]);
  if (isNumeric(s)) return String(Math.max(1, Number(s?.minimum ?? 1)));
  return 'a'.repeat(Math.max(1, s?.minLength ?? 1));
}

/** Top-level numeric properties of a body schema. */
function numericProps(s: JsonSchema | undefined, doc: OpenApiDoc): string[] {
  const schema = s?.$ref ? doc.components?.schemas?.[s.$ref.split('/').pop()!] : s;
  return Object.entries(schema?.properties ?? {})
    .filter(([, v]) => isNumeric(v))
    .map(([k]) => k);
}

describe('abuse: non-finite numbers', () => {
  let t: TestNova;
  let doc: OpenApiDoc;
  let token: string;
  const ID = '00000000-0000-4000-8000-000000000000';

  before(async () => {
    t = await startTestNova();
    const admin = (await t.client.newUser('admin')).client;
    token = admin.token!;
    doc = (await (await fetch(`${t.url}/docs/json`)).json()) as OpenApiDoc;
  });
  after(async () => t?.stop());

  it('every numeric query parameter refuses Infinity, 1e309 and NaN with 400 naming it', async () => {
    let checked = 0;
    for (const op of operationsOf(doc)) {
      const numeric = op.parameters.filter((p) => p.in === 'query' && isNumeric(p.schema));
      for (const p of numeric) {
        for (const value of NON_FINITE) {
          const path = op.path.replace(/\{[^}]+\}/g, ID);
          // Other required query parameters get a valid value, so only the non-finite one is wrong.
          const others = op.parameters.filter((q) => q.in === 'query' && q.required && q.name !== p.name).map((q) => `&${q.name}=${encodeURIComponent(validSample(q.schema))}`);
          const res = await fetch(`${t.url}${path}?${p.name}=${value}${others.join('')}`, { method: op.method, headers: { authorization: `Bearer ${token}` } });
          const body = await res.text();
          assert.equal(res.status, 400, `${op.method} ${path}?${p.name}=${value} → ${res.status} ${body}`);
          assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
          assert.ok(
            JSON.parse(body).errors.some((e: { field: string }) => e.field === p.name),
            `${p.name} named in ${body}`,
          );
          checked++;
        }
      }
    }
    // The list routes of the finding (videos, streams, trending, webhooks deliveries, chat, feed) at least.
    assert.ok(checked >= 6 * NON_FINITE.length, `${checked} checks`);
  });

  it('every numeric body property refuses 1e309 with 400 naming it', async () => {
    let checked = 0;
    for (const op of operationsOf(doc)) {
      if (!op.body || op.body.contentType !== 'application/json') continue;
      for (const prop of numericProps(op.body.schema, doc)) {
        const path = op.path.replace(/\{[^}]+\}/g, ID);
        for (const raw of [`{"${prop}":1e309}`, `{"${prop}":-1e309}`]) {
          const res = await fetch(`${t.url}${path}`, { method: op.method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: raw });
          const body = await res.text();
          assert.equal(res.status, 400, `${op.method} ${path} ${raw} → ${res.status} ${body}`);
          const fields = (JSON.parse(body).errors ?? []).map((e: { field: string }) => e.field);
          // Another field may be reported first when the body misses a required one; Infinity itself is never accepted.
          if (fields.includes(prop)) checked++;
        }
      }
    }
    assert.ok(checked >= 2, `${checked} checks named the field`);
  });
});
