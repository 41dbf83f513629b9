// The messages between Nova and a model process (models.child.ts). Types only: both sides import
// them, and the child must not pull in the rest of Nova.
import type { Signature, Tensors } from './models.signature.js';

export interface LoadRequest {
  op: 'load';
  path: string;
  threads: number;
}

export interface RunRequest {
  op: 'run';
  id: number;
  inputs: Tensors;
}

export type ToChild = LoadRequest | RunRequest;

export type FromChild =
  | { op: 'ready' }
  | { op: 'loaded'; signature: Signature }
  | { op: 'load_failed'; error: string }
  | { op: 'result'; id: number; outputs: Tensors; compute_ms: number }
  | { op: 'run_failed'; id: number; error: string };
