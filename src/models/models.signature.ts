// Model signatures (input/output names, element types, shapes) and the tensor rules built on them:
// comparing a candidate version with the one it replaces, building a warm-up sample, checking an
// infer request's tensors, and converting between JSON arrays and typed arrays.

export const TENSOR_TYPES = ['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string'] as const;
export type TensorType = (typeof TENSOR_TYPES)[number];

/** A dimension: a number when fixed, a string (its symbolic name, possibly empty) when dynamic. */
export type Dim = number | string;

export interface TensorSpec {
  name: string;
  type: TensorType;
  shape: Dim[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A tensor as it crosses the process boundary (structured clone keeps typed arrays binary). */
export interface Tensor {
  type: TensorType;
  dims: number[];
  data: TensorData;
}

export type Tensors = Record<string, Tensor>;

export function isDynamic(d: Dim): boolean {
  return typeof d === 'string' || d < 0;
}

export function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * A model can join requests along the first axis when every input and output has a dynamic
 * first dimension: Triton's "max_batch_size > 0" models.
 */
export function isBatchable(sig: Signature): boolean {
  return [...sig.inputs, ...sig.outputs].every((t) => t.shape.length >= 1 && isDynamic(t.shape[0]));
}

function describe(shape: Dim[]): string {
  return `[${shape.map((d) => (isDynamic(d) ? (typeof d === 'string' && d ? d : '?') : String(d))).join(', ')}]`;
}

function compareList(kind: 'input' | 'output', expected: TensorSpec[], actual: TensorSpec[]): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((t) => [t.name, t]));
  for (const e of expected) {
    const a = byName.get(e.name);
    if (!a) {
      problems.push(`${kind} "${e.name}" is missing`);
      continue;
    }
    if (a.type !== e.type) problems.push(`${kind} "${e.name}" is ${a.type}, expected ${e.type}`);
    const shapeOk = a.shape.length === e.shape.length
      && e.shape.every((d, i) => (isDynamic(d) ? isDynamic(a.shape[i]) : a.shape[i] === d));
    if (!shapeOk) problems.push(`${kind} "${e.name}" has shape ${describe(a.shape)}, expected ${describe(e.shape)}`);
  }
  const known = new Set(expected.map((t) => t.name));
  for (const a of actual) if (!known.has(a.name)) problems.push(`unexpected ${kind} "${a.name}"`);
  return problems;
}

/**
 * What keeps `actual` from replacing `expected`: same names and types, same rank, fixed
 * dimensions equal, dynamic dimensions still dynamic (so callers' batch sizes keep working).
 */
export function signatureMismatches(expected: Signature, actual: Signature): string[] {
  return [...compareList('input', expected.inputs, actual.inputs), ...compareList('output', expected.outputs, actual.outputs)];
}

export function emptyData(type: TensorType, n: number): TensorData {
  switch (type) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

/** A zero-filled sample for the warm-up run: a dynamic first axis of `rows`, other dynamic dimensions 1. */
export function sampleInputs(sig: Signature, rows = 1): Tensors {
  const out: Tensors = {};
  for (const t of sig.inputs) {
    const dims = t.shape.map((d, i) => (isDynamic(d) ? (i === 0 ? rows : 1) : Number(d)));
    out[t.name] = { type: t.type, dims, data: emptyData(t.type, elementCount(dims)) };
  }
  return out;
}

const INT_RANGES: Partial<Record<TensorType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Builds a typed tensor from JSON values, or returns why it cannot. `data` is row-major, flat or
 * nested (nested arrays are flattened).
 */
export function tensorFromJson(spec: TensorSpec, dims: number[], raw: unknown[]): Tensor | string {
  if (dims.length !== spec.shape.length) return `has ${dims.length} dimensions, the model expects ${spec.shape.length} ${describe(spec.shape)}`;
  for (let i = 0; i < dims.length; i++) {
    const d = spec.shape[i];
    if (!isDynamic(d) && dims[i] !== d) return `dimension ${i} is ${dims[i]}, the model expects ${d} ${describe(spec.shape)}`;
  }
  const values = raw.some(Array.isArray) ? (raw.flat(Infinity) as unknown[]) : raw;
  const n = elementCount(dims);
  if (values.length !== n) return `has ${values.length} values but dims [${dims.join(', ')}] need ${n}`;
  if (spec.type === 'string') {
    if (!values.every((v) => typeof v === 'string')) return 'must hold strings';
    return { type: 'string', dims, data: values as string[] };
  }
  if (spec.type === 'bool') {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) return `value ${i} is not a boolean (true/false or 0/1)`;
      data[i] = v ? 1 : 0;
    }
    return { type: 'bool', dims, data };
  }
  const data = emptyData(spec.type, n);
  const range = INT_RANGES[spec.type];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return `value ${i} is not a finite number`;
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) return `value ${i} (${v}) is not a valid ${spec.type}`;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(v);
    else (data as Float32Array)[i] = v;
  }
  return { type: spec.type, dims, data };
}

/** JSON-friendly values of a tensor: 64-bit integers become numbers (exact up to 2^53). */
export function tensorToJson(t: Tensor): { dims: number[]; data: Array<number | string | boolean> } {
  let data: Array<number | string | boolean>;
  if (t.type === 'string') data = t.data as string[];
  else if (t.type === 'bool') data = Array.from(t.data as Uint8Array, (v) => v !== 0);
  else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) data = Array.from(t.data, (v) => Number(v));
  else data = Array.from(t.data as Float32Array);
  return { dims: t.dims, data };
}

/** The ORT metadata type names Nova serves; anything else (float16, 4-bit) is refused at load. */
export function isTensorType(t: string): t is TensorType {
  return (TENSOR_TYPES as readonly string[]).includes(t);
}
