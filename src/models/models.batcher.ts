// Dynamic batching, Triton's scheduler in miniature: requests for one model version queue here;
// when the model process can take a batch, the oldest request waits at most maxDelayMs for
// company, then compatible requests (same non-batch dims) are stacked along the first axis, run
// once and split back. While the process is busy, new requests gather; when a batch completes,
// whatever waits goes on the next turn, since it has already waited. The process has two slots:
// with both free and a large queue (each share ≥ a quarter of the max batch), the queue is shared
// out between them, so the model computes one batch while this process splits the last and sends
// the next. Taking turns instead (one batch, then the next) capped 32 closed-loop requesters of
// 500 rows at 1.2× the unbatched throughput; sharing out reaches ~3.5×. A batch of several
// requests that fails on its inputs is run again one request at a time, so each request gets its
// own result or error, never another's.
import { ModelUnavailableError } from './models.process.js';
import type { Tensor, TensorData, Tensors } from './models.signature.js';
import type { Outgoing } from './models.wire.js';

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

/** Runs a batch: each input as one tensor, or as the requests' row blocks in order. */
type Runner = (inputs: Outgoing) => Promise<{ outputs: Tensors; computeMs: number }>;

interface Job {
  inputs: Tensors;
  rows: number;
  /** Requests with the same key can share a batch; null never shares (nor does a re-run). */
  key: string | null;
  enqueuedAt: number;
  resolve: (o: BatchOutcome) => void;
  reject: (err: Error) => void;
}

export class BatchSplitError extends Error {}

/** The queue is shared out between free slots only if each share is at least maxRows / MIN_SHARE rows. */
const MIN_SHARE = 4;

/** A request's rows of a batch output: a view, since each batch's outputs arrive in a buffer of their own. */
function sliceRows(t: Tensor, from: number, to: number): Tensor {
  const per = t.dims[0] === 0 ? 0 : t.data.length / t.dims[0];
  const data = Array.isArray(t.data) ? t.data.slice(from * per, to * per) : t.data.subarray(from * per, to * per);
  return { type: t.type, dims: [to - from, ...t.dims.slice(1)], data: data as TensorData };
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

  /**
   * The first queued request (of `key`, when given) and the requests that can share its batch.
   * With more than one free slot and a large queue, only this slot's share is taken (`shared`):
   * the model process then computes one batch while this process prepares the next and splits the
   * last, instead of both taking turns.
   */
  private take(key?: string): { batch: Job[]; shared: boolean } {
    const at = key === undefined ? 0 : Math.max(0, this.queue.findIndex((j) => j.key === key));
    const [head] = this.queue.splice(at, 1);
    const batch = [head];
    if (head.key === null) return { batch, shared: false };
    const freeSlots = this.opts.maxInFlight - this.inFlight;
    let limit = this.opts.maxRows;
    let shared = false;
    if (freeSlots > 1) {
      let queued = head.rows;
      for (const j of this.queue) if (j.key === head.key) queued += j.rows;
      // Only batches big enough to take a while are worth overlapping; small ones go whole, since
      // each batch pays the same fixed cost of crossing over and calling the runtime.
      if (queued / freeSlots >= this.opts.maxRows / MIN_SHARE) {
        limit = Math.min(limit, Math.ceil(queued / freeSlots));
        shared = true;
      }
    }
    // The head always goes; the others only while the batch stays within this slot's share (or
    // the max batch), so one slot cannot take most of a shared-out queue.
    let rows = head.rows;
    for (let i = 0; i < this.queue.length && rows < limit; ) {
      const j = this.queue[i];
      if (j.key === head.key && rows + j.rows <= limit) {
        batch.push(j);
        rows += j.rows;
        this.queue.splice(i, 1);
      } else i++;
    }
    return { batch, shared };
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
    let next = this.take();
    this.send(next.batch);
    // The rest of a shared-out queue goes at once, into the next slot.
    const key = next.batch[0].key ?? undefined;
    while (next.shared && !this.busy && key !== undefined && this.queue.some((j) => j.key === key)) {
      next = this.take(key);
      this.send(next.batch);
    }
    // Anything else (another shape, or requests that have only just arrived) waits for its own turn.
    this.schedule();
  }

  private send(batch: Job[]): void {
    // From here on, the finally below is what gives the slot back: nothing before it may throw.
    this.inFlight++;
    const startedAt = performance.now();
    const rows = batch.reduce((n, j) => n + j.rows, 0);
    let inputs: Outgoing;
    if (batch.length === 1) inputs = batch[0].inputs;
    else {
      inputs = {};
      for (const name of Object.keys(batch[0].inputs)) inputs[name] = batch.map((j) => j.inputs[name]);
    }
    try {
      this.onBatch(batch.length, rows);
    } catch {
      // Metrics only: a failing hook must not fail the batch.
    }
    let running: ReturnType<Runner>;
    try {
      running = this.run(inputs);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      ({ outputs, computeMs }) => {
        if (batch.length === 1) {
          const j = batch[0];
          j.resolve({ outputs, queueMs: startedAt - j.enqueuedAt, computeMs, batchRequests: 1, batchRows: rows });
          return;
        }
        for (const [name, t] of Object.entries(outputs)) {
          if (t.dims[0] !== rows) return this.failed(batch, new BatchSplitError(`output "${name}" has ${t.dims[0]} rows for a batch of ${rows}`));
        }
        let from = 0;
        for (const j of batch) {
          const own: Tensors = {};
          for (const [name, t] of Object.entries(outputs)) own[name] = sliceRows(t, from, from + j.rows);
          from += j.rows;
          j.resolve({ outputs: own, queueMs: startedAt - j.enqueuedAt, computeMs, batchRequests: batch.length, batchRows: rows });
        }
      },
      (err: Error) => this.failed(batch, err),
    ).catch((err: Error) => {
      // Settling threw: nobody may be left waiting (settling twice is a no-op).
      for (const j of batch) j.reject(err);
    }).finally(() => {
      this.inFlight--;
      // Whatever arrived meanwhile has already waited: it goes on the next turn (not a new delay),
      // together with requests their callers send in reaction to the results just delivered (their
      // continuations run as microtasks before that turn, even those still on their way now).
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        this.dispatch();
      });
      if (this.queue.length === 0 && this.inFlight === 0) {
        const waiters = this.idle;
        this.idle = [];
        for (const w of waiters) w();
      }
    });
  }

  /**
   * A batch failed, or its outputs did not split back by rows. The runtime refuses a whole batch
   * for one request's bad values (an index out of range, say), and its message may quote them: so
   * a batch of several goes back to the front of the queue one request at a time, each to run
   * alone, in a slot like any batch, and get its own result or error. A single request (including
   * such a re-run) just fails. So does a batch whose process is gone: running its requests one by
   * one would not help.
   */
  private failed(batch: Job[], err: Error): void {
    if (batch.length === 1 || err instanceof ModelUnavailableError) {
      for (const j of batch) j.reject(err);
      return;
    }
    for (const j of batch) j.key = null;
    this.queue.unshift(...batch);
  }

  /** Resolves when nothing is queued or running (used before retiring a version). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
