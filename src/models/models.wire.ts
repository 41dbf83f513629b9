// Moving tensors between processes through a pair of unlinked shared-memory files (tmpfs): the
// sender writes the bytes with one pwrite and sends only offsets over IPC; the receiver reads them
// with one pread. A large batch then costs two memory copies instead of many round trips through
// a 200 KB socket buffer, which on a busy machine means many waits for the scheduler.
import fs from 'node:fs';
import type { WireTensor, WireTensors } from './models.protocol.js';
import type { Tensor, TensorData, Tensors, TensorType } from './models.signature.js';

const CTORS: Record<Exclude<TensorType, 'string'>, new (b: ArrayBuffer) => Exclude<TensorData, string[]>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function readAll(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('shared tensor file ended early');
    done += n;
  }
}

/** Encodes tensors for a message; with `fd`, numeric data goes into that file. */
export function toWire(tensors: Tensors, fd: number | null): WireTensors {
  const out: WireTensors = {};
  let position = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (fd === null || t.type === 'string') {
      out[name] = { type: t.type, dims: t.dims, inline: t.data };
      continue;
    }
    const d = t.data as Exclude<TensorData, string[]>;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    writeAll(fd, bytes, position);
    out[name] = { type: t.type, dims: t.dims, offset: position, bytes: bytes.length };
    position += Math.ceil(bytes.length / 8) * 8;
  }
  return out;
}

function fromWireOne(w: WireTensor, fd: number | null): Tensor {
  if (w.inline !== undefined || w.type === 'string') return { type: w.type, dims: w.dims, data: w.inline ?? [] };
  if (fd === null) throw new Error('tensor data was sent through shared memory that is not open');
  // A fresh buffer per tensor: aligned for any element type and owned by its receiver.
  const buffer = new ArrayBuffer(w.bytes ?? 0);
  readAll(fd, new Uint8Array(buffer), w.offset ?? 0);
  return { type: w.type, dims: w.dims, data: new CTORS[w.type](buffer) };
}

export function fromWire(wire: WireTensors, fd: number | null): Tensors {
  const out: Tensors = {};
  for (const [name, w] of Object.entries(wire)) out[name] = fromWireOne(w, fd);
  return out;
}
