// Checks at the edges of model serving: an infer request's tensors against the model's inputs
// (with field-level messages), and a warm-up run's outputs against the signature and, when
// metadata.json carries them, against the expected values.
import type { FieldError } from '../http/errors.js';
import type { ModelMetadata } from './models.repository.js';
import { elementCount, isDynamic, tensorFromJson, type Signature, type Tensors } from './models.signature.js';

type JsonInputs = Record<string, { dims: number[]; data: unknown[] }>;

/**
 * Typed tensors for every model input, or field errors naming what is wrong. Elements beyond
 * `maxElements` per tensor are refused before anything is allocated.
 */
export function parseInputs(sig: Signature, body: JsonInputs, maxElements: number): Tensors | FieldError[] | string {
  if (typeof body !== 'object' || body === null) return 'inputs must be an object of {dims, data} per model input';
  const errors: FieldError[] = [];
  const out: Tensors = {};
  const expected = new Set(sig.inputs.map((s) => s.name));
  for (const name of Object.keys(body)) {
    if (!expected.has(name)) errors.push({ field: `inputs.${name}`, message: `is not an input of this model (inputs: ${[...expected].join(', ')})` });
  }
  for (const spec of sig.inputs) {
    const t = body[spec.name];
    const field = `inputs.${spec.name}`;
    if (!t) {
      errors.push({ field, message: 'is required' });
      continue;
    }
    if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isInteger(d) && d >= 0)) {
      errors.push({ field: `${field}.dims`, message: 'must be an array of non-negative integers' });
      continue;
    }
    if (!Array.isArray(t.data)) {
      errors.push({ field: `${field}.data`, message: 'must be an array' });
      continue;
    }
    const n = elementCount(t.dims);
    if (n > maxElements) {
      errors.push({ field: `${field}.dims`, message: `describe ${n} elements; at most ${maxElements} are accepted (MODEL_INFER_MAX_ELEMENTS)` });
      continue;
    }
    const tensor = tensorFromJson(spec, t.dims, t.data);
    if (typeof tensor === 'string') errors.push({ field: tensor.startsWith('dimension') || tensor.startsWith('has ') && tensor.includes('dimensions') ? `${field}.dims` : `${field}.data`, message: tensor });
    else out[spec.name] = tensor;
  }
  return errors.length ? errors : out;
}

/** Why a warm-up result is unacceptable, or null when it is fine. */
export function checkWarmup(sig: Signature, outputs: Tensors, expect?: NonNullable<ModelMetadata['warmup']>): string | null {
  for (const spec of sig.outputs) {
    const t = outputs[spec.name];
    if (!t) return `did not produce output "${spec.name}"`;
    if (t.type !== spec.type) return `produced ${t.type} for output "${spec.name}", declared ${spec.type}`;
    if (t.dims.length !== spec.shape.length) return `produced ${t.dims.length} dimensions for output "${spec.name}", declared ${spec.shape.length}`;
    for (let i = 0; i < spec.shape.length; i++) {
      const d = spec.shape[i];
      if (!isDynamic(d) && t.dims[i] !== d) return `produced dimension ${i} = ${t.dims[i]} for output "${spec.name}", declared ${d}`;
    }
  }
  if (!expect?.outputs) return null;
  const tol = typeof expect.tolerance === 'number' && expect.tolerance > 0 ? expect.tolerance : 1e-4;
  for (const [name, want] of Object.entries(expect.outputs)) {
    const got = outputs[name];
    if (!got) return `did not produce output "${name}" named in metadata.json`;
    const values = Array.from(got.data as ArrayLike<number | bigint>, Number);
    if (!Array.isArray(want.data) || values.length !== want.data.length) return `produced ${values.length} values for "${name}", metadata.json expects ${Array.isArray(want.data) ? want.data.length : 0}`;
    for (let i = 0; i < values.length; i++) {
      if (!(Math.abs(values[i] - Number(want.data[i])) <= tol)) return `produced ${values[i]} for "${name}"[${i}], metadata.json expects ${want.data[i]} (±${tol}): the weights differ from the ones the sample was recorded with`;
    }
  }
  return null;
}

/** True when every output has `rows` rows: the model really treats the first axis as a batch. */
export function keepsBatchAxis(outputs: Tensors, rows: number): boolean {
  return Object.values(outputs).every((t) => t.dims[0] === rows);
}
