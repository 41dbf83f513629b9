// The messages between Nova and a model process (models.child.ts). Types only: both sides import
// them, and the child must not pull in the rest of Nova.
import type { Signature, TensorData, TensorType } from './models.signature.js';

/**
 * A tensor in a message. Numeric data normally travels through the process's shared-memory files
 * (`offset`/`bytes` into them); `inline` carries it in the message itself (strings, or when no
 * shared memory is available).
 */
export interface WireTensor {
  type: TensorType;
  dims: number[];
  offset?: number;
  bytes?: number;
  inline?: TensorData;
}

export type WireTensors = Record<string, WireTensor>;

export interface LoadRequest {
  op: 'load';
  path: string;
  threads: number;
}

export interface RunRequest {
  op: 'run';
  id: number;
  /** Which shared-memory slot holds the inputs and receives the outputs. */
  slot: number;
  inputs: WireTensors;
}

export type ToChild = LoadRequest | RunRequest;

export type FromChild =
  | { op: 'ready' }
  | { op: 'loaded'; signature: Signature }
  | { op: 'load_failed'; error: string }
  | { op: 'result'; id: number; outputs: WireTensors; compute_ms: number }
  | { op: 'run_failed'; id: number; error: string };

/** Runs that may be in flight per model process, each with its own pair of shared-memory files. */
export const SHM_SLOTS = 2;
/** The child's first shared-memory fd (after stdin, stdout, stderr and the IPC channel). */
export const SHM_FD_BASE = 4;
/** Set in the child's environment when the shared-memory files were passed. */
export const SHM_ENV = 'NOVA_MODEL_SHM';
