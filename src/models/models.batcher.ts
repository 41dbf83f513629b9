// Dynamic batching, Triton's scheduler in miniature: requests for one model version queue here;
// when the model process can take a batch, the oldest request waits at most maxDelayMs for
// company, then compatible requests (same non-batch dims) are concatenated along the first axis,
// run once and split back. While the process is busy, new requests gather and go together as soon
// as a slot frees.
import { elementCount, type Tensor, type TensorData, type Tensors } from './models.signature.js';

export interface BatchOutcome {
  outputs: Tensors;
  queueMs: number;
  computeMs: number;
  /** Requests and rows in the batch this request ran in. */
  batchRequests: number;
  batchRows: number;
}

export interface BatcherOptions {
  enabled: boolean;
  /** Largest batch, in rows along the first axis (one oversized request still runs alone). */
  maxRows: number;
  maxDelayMs: number;
  /** Batches sent to the model process before the first returns (the process has as many slots). */
  maxInFlight: number;
}

type Runner = (inputs: Tensors) => Promise<{ outputs: Tensors; computeMs: number }>;

interface Job {
  inputs: Tensors;
  rows: number;
  /** Requests with the same key can share a batch; null never shares. */
  key: string | null;
  enqueuedAt: number;
  resolve: (o: BatchOutcome) => void;
  reject: (err: Error) => void;
}

export class BatchSplitError extends Error {}

function concat(parts: Tensor[]): Tensor {
  const first = parts[0];
  const rows = parts.reduce((n, p) => n + p.dims[0], 0);
  const dims = [rows, ...first.dims.slice(1)];
  if (first.type === 'string') return { type: 'string', dims, data: parts.flatMap((p) => p.data as string[]) };
  const Ctor = (first.data as Exclude<TensorData, string[]>).constructor as new (n: number) => Exclude<TensorData, string[]>;
  const out = new Ctor(elementCount(dims));
  let offset = 0;
  for (const p of parts) {
    const d = p.data as Float32Array;
    (out as Float32Array).set(d, offset);
    offset += d.length;
  }
  return { type: first.type, dims, data: out };
}

function sliceRows(t: Tensor, from: number, to: number): Tensor {
  const per = t.dims[0] === 0 ? 0 : t.data.length / t.dims[0];
  return { type: t.type, dims: [to - from, ...t.dims.slice(1)], data: t.data.slice(from * per, to * per) as TensorData };
}

export class DynamicBatcher {
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private idle: Array<() => void> = [];

  constructor(
    private readonly run: Runner,
    private readonly opts: BatcherOptions,
    /** Whether the model's inputs and outputs all have a dynamic first axis that it keeps. */
    public batchable: boolean,
    private readonly onBatch: (requests: number, rows: number) => void = () => {},
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  submit(inputs: Tensors): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      const tensors = Object.values(inputs);
      const rows = tensors[0]?.dims[0] ?? 0;
      // Shareable only if every input agrees on the batch axis; the key pins the other dims.
      const shareable = this.opts.enabled && this.batchable && tensors.length > 0 && tensors.every((t) => t.dims.length >= 1 && t.dims[0] === rows);
      const key = shareable
        ? Object.keys(inputs).sort().map((n) => `${n}:${inputs[n].type}:${inputs[n].dims.slice(1).join('x')}`).join('|')
        : null;
      this.queue.push({ inputs, rows, key, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  private get busy(): boolean {
    return this.inFlight >= this.opts.maxInFlight;
  }

  private schedule(): void {
    if (this.busy || this.queue.length === 0) return;
    const head = this.queue[0];
    if (head.key === null) return this.dispatch();
    let rows = 0;
    for (const j of this.queue) if (j.key === head.key) rows += j.rows;
    if (rows >= this.opts.maxRows) return this.dispatch();
    if (!this.timer && !this.immediate) this.waitUntil(head.enqueuedAt + this.opts.maxDelayMs);
  }

  /**
   * Waits for company until `deadline`. Timers cannot wait less than a millisecond, so short waits
   * poll once per event-loop turn instead; either way requests arriving meanwhile join the batch.
   */
  private waitUntil(deadline: number): void {
    const left = deadline - performance.now();
    if (left >= 2) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.dispatch();
      }, left);
      return;
    }
    this.immediate = setImmediate(() => {
      this.immediate = null;
      if (this.busy) return;
      if (performance.now() >= deadline) this.dispatch();
      else this.waitUntil(deadline);
    });
  }

  private take(): Job[] {
    const head = this.queue.shift()!;
    const batch = [head];
    if (head.key === null) return batch;
    let rows = head.rows;
    for (let i = 0; i < this.queue.length; ) {
      const j = this.queue[i];
      if (j.key === head.key && rows + j.rows <= this.opts.maxRows) {
        batch.push(j);
        rows += j.rows;
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    if (this.busy || this.queue.length === 0) return;
    this.inFlight++;
    const batch = this.take();
    const startedAt = performance.now();
    const rows = batch.reduce((n, j) => n + j.rows, 0);
    let inputs: Tensors;
    if (batch.length === 1) inputs = batch[0].inputs;
    else {
      inputs = {};
      for (const name of Object.keys(batch[0].inputs)) inputs[name] = concat(batch.map((j) => j.inputs[name]));
    }
    this.onBatch(batch.length, rows);
    this.run(inputs).then(
      ({ outputs, computeMs }) => {
        if (batch.length === 1) {
          const j = batch[0];
          j.resolve({ outputs, queueMs: startedAt - j.enqueuedAt, computeMs, batchRequests: 1, batchRows: rows });
          return;
        }
        for (const [name, t] of Object.entries(outputs)) {
          if (t.dims[0] !== rows) {
            const err = new BatchSplitError(`output "${name}" has ${t.dims[0]} rows for a batch of ${rows}`);
            for (const j of batch) j.reject(err);
            return;
          }
        }
        let from = 0;
        for (const j of batch) {
          const own: Tensors = {};
          for (const [name, t] of Object.entries(outputs)) own[name] = sliceRows(t, from, from + j.rows);
          from += j.rows;
          j.resolve({ outputs: own, queueMs: startedAt - j.enqueuedAt, computeMs, batchRequests: batch.length, batchRows: rows });
        }
      },
      (err: Error) => {
        for (const j of batch) j.reject(err);
      },
    ).finally(() => {
      this.inFlight--;
      // Whatever arrived meanwhile has already waited: it goes on the next turn (not a new delay),
      // together with requests their callers send in reaction to the results just delivered.
      if (this.queue.length > 0) {
        this.immediate ??= setImmediate(() => {
          this.immediate = null;
          this.dispatch();
        });
      } else if (this.inFlight === 0) {
        const waiters = this.idle;
        this.idle = [];
        for (const w of waiters) w();
      }
    });
  }

  /** Resolves when nothing is queued or running (used before retiring a version). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
