// fast-check arbitraries built from an OpenAPI 3 document: for each operation, path, query and body
// values that follow its schemas, mutated at every level with values that break them (non-finite
// and huge numbers, wrong types, control and bidi characters, long strings, traversal paths).
import fc from 'fast-check';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
}

export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { contentType: string; schema: JsonSchema; required: boolean };
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { required?: boolean; content?: Record<string, { schema: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

export function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      const contentType = Object.keys(content)[0];
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: contentType ? { contentType, schema: content[contentType]!.schema, required: op.requestBody?.required ?? false } : undefined,
      });
    }
  }
  return ops;
}

/** Values that have broken parsers, validators and SQL somewhere. */
const NASTY: unknown[] = [
  'Infinity',
  '-Infinity',
  'NaN',
  '1e309',
  '-1e309',
  '1e-400',
  '9007199254740993',
  '-0',
  '0x10',
  '1_000',
  ' 1',
  '',
  Infinity,
  -Infinity,
  1e308,
  -1e308,
  2 ** 53 + 1,
  -(2 ** 31) - 1,
  2 ** 63,
  0,
  -1,
  0.5,
  1e-320,
  null,
  true,
  false,
  [],
  {},
  [[]],
  { $gt: '' },
  { __proto__: { admin: true } },
  { constructor: { prototype: { x: 1 } } },
  '\u0000',
  'a\u0000b',
  '\u202Eevil\u202C',
  '\uD800',
  '\uDFFF',
  '\u2028',
  '%00',
  '%',
  '%%',
  '%ZZ',
  '\\',
  '"',
  "'",
  "' OR 1=1 --",
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '/',
  '//',
  '.',
  '..',
  '~',
  '*',
  '?',
  '#',
  '&',
  '=',
  '+',
  ' ',
  'x'.repeat(5000),
  '😀'.repeat(300),
  'é'.normalize('NFD').repeat(100),
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '00000000-0000-4000-8000-00000000000G',
  'http://127.0.0.1/',
  'http://[::1]/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  '2026-02-30T25:61:61Z',
  '9999-12-31T23:59:59Z',
];

export const nastyArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2, maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => n.toString()) },
);

export interface ArbContext {
  doc: OpenApiDoc;
  /** Ids of things that exist (videos, streams, users, webhooks...), so uuids often hit real rows. */
  knownIds: () => string[];
  /** Names that exist for string path parameters (experiment keys, model names, usernames). */
  knownNames: () => string[];
}

function resolve(schema: JsonSchema, ctx: ArbContext): JsonSchema {
  let s = schema;
  for (let i = 0; i < 10 && s.$ref; i++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    s = ctx.doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

/** Values following the schema (mostly), mutated with nasty ones at every level (`mutation` of the time). */
export function schemaArb(schema: JsonSchema | undefined, ctx: ArbContext, mutation = 0.15, depth = 0): fc.Arbitrary<unknown> {
  const valid = validArb(schema ? resolve(schema, ctx) : {}, ctx, mutation, depth);
  const nastyWeight = Math.max(1, Math.round(mutation * 100));
  return fc.oneof({ weight: 100 - nastyWeight, arbitrary: valid }, { weight: nastyWeight, arbitrary: nastyArb });
}

function validArb(s: JsonSchema, ctx: ArbContext, mutation: number, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts && alts.length) return fc.oneof(...alts.map((a) => schemaArb(a, ctx, mutation, depth + 1)));
  if (s.allOf && s.allOf.length) return schemaArb(s.allOf[0], ctx, mutation, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return stringArb(s, ctx);
    case 'integer': {
      const min = s.minimum ?? (typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : -1_000_000);
      const max = s.maximum ?? (typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - 1 : 1_000_000);
      return fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) });
    }
    case 'number': {
      const min = s.minimum ?? (typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : -1e9);
      const max = s.maximum ?? (typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : 1e9);
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (depth > 4) return fc.constant([]);
      const maxLength = Math.min(s.maxItems ?? 4, 4);
      return fc.array(schemaArb(s.items, ctx, mutation, depth + 1), { minLength: Math.min(s.minItems ?? 0, maxLength), maxLength });
    }
    case 'object':
    default: {
      if (depth > 4 || (!s.properties && type !== 'object')) return depth > 4 ? fc.constant({}) : fc.anything({ maxDepth: 2, maxKeys: 3 });
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, schemaArb(v, ctx, mutation, depth + 1)]));
      const required = (s.required ?? []).filter((k) => k in props);
      const record = fc.record(props, { requiredKeys: required });
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), schemaArb(s.additionalProperties, ctx, mutation, depth + 1), { maxKeys: 3 });
        return fc.tuple(record, extra).map(([a, b]) => ({ ...b, ...a }));
      }
      // Sometimes a property the schema does not know.
      return fc.tuple(record, fc.option(fc.tuple(fc.string({ maxLength: 12 }), nastyArb), { freq: 10 })).map(([r, extra]) => (extra ? { ...r, [extra[0]]: extra[1] } : r));
    }
  }
}

function stringArb(s: JsonSchema, ctx: ArbContext): fc.Arbitrary<unknown> {
  const maxLength = Math.min(s.maxLength ?? 64, 300);
  const minLength = Math.min(s.minLength ?? 0, maxLength);
  if (s.format === 'uuid') {
    const known = ctx.knownIds();
    return known.length ? fc.oneof(fc.uuid(), fc.constantFrom(...known)) : fc.uuid();
  }
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === 'uri' || s.format === 'url') return fc.webUrl();
  if (s.pattern) {
    const names = ctx.knownNames().filter((n) => safeTest(s.pattern!, n));
    const matching = fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length >= minLength && x.length <= maxLength);
    return names.length ? fc.oneof(matching, fc.constantFrom(...names)) : matching;
  }
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength, maxLength }) },
    { weight: 1, arbitrary: ctx.knownNames().length ? fc.constantFrom(...ctx.knownNames()) : fc.string({ minLength, maxLength }) },
  );
}

function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return false;
  }
}
