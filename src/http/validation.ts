// Request validation: Fastify's own AJV compiler, plus one rule AJV does not enforce. Its type
// coercion turns "Infinity" or "1e309" into a number that then passes `integer`, `minimum` and
// `maximum`, and JSON.parse turns 1e309 into Infinity; such values reached SQL and failed there.
// Every validated request part (params, query, body) is checked here once: a non-finite number is
// a 400 naming its field, on every route, whatever its schema says.
import AjvCompiler from '@fastify/ajv-compiler';

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}
type Validate = ((data: unknown) => boolean | Promise<unknown>) & { errors?: unknown };
type BuildValidator = (externalSchemas: unknown, options: unknown) => (route: unknown) => Validate;

/** The JSON pointer of the first non-finite number in `data`, or null. Bounded by the body limit. */
export function findNonFinite(data: unknown, pointer = ''): string | null {
  if (typeof data === 'number') return Number.isFinite(data) ? null : pointer || '/';
  if (typeof data !== 'object' || data === null) return null;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      // Large numeric arrays (model inputs) are the common case: skip the recursion for them.
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return `${pointer}/${i}`;
      } else if (typeof v === 'object' && v !== null) {
        const inner = findNonFinite(v, `${pointer}/${i}`);
        if (inner) return inner;
      }
    }
    return null;
  }
  for (const [k, v] of Object.entries(data)) {
    const inner = findNonFinite(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (inner) return inner;
  }
  return null;
}

function finiteOnly(inner: Validate): Validate {
  const wrapped: Validate = (data: unknown) => {
    const ok = inner(data);
    if (typeof ok !== 'boolean') return ok;
    if (!ok) {
      wrapped.errors = inner.errors;
      return false;
    }
    const at = findNonFinite(data);
    if (at === null) return true;
    const error: AjvError = { instancePath: at === '/' ? '' : at, schemaPath: '#', keyword: 'finite', params: {}, message: 'must be a finite number' };
    wrapped.errors = [error];
    return false;
  };
  return wrapped;
}

/** Fastify's `schemaController.compilersFactory.buildValidator`, with the finite-number rule. */
export function finiteNumberValidator(): BuildValidator {
  const build = (AjvCompiler as unknown as () => BuildValidator)();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => finiteOnly(compile(route));
  };
}
