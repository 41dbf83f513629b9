// Per-model inference metrics: counts, failures, and a rolling window of the latest latencies
// (total, queue, compute) and batch sizes, for GET /api/v1/models and the Prometheus registry.
// Percentiles come from the window itself, so they describe recent traffic only.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../infra/logger.js';

/** A fixed-size ring of the latest numbers. */
class Ring {
  private readonly values: Float64Array;
  private next = 0;
  private size = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  push(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }

  get length(): number {
    return this.size;
  }

  mean(): number | null {
    if (this.size === 0) return null;
    let s = 0;
    for (let i = 0; i < this.size; i++) s += this.values[i];
    return s / this.size;
  }

  /** Nearest-rank percentiles (p in 0..100) of the window. */
  percentiles(ps: number[]): Array<number | null> {
    if (this.size === 0) return ps.map(() => null);
    const sorted = this.values.slice(0, this.size).sort();
    return ps.map((p) => sorted[Math.min(this.size - 1, Math.max(0, Math.ceil((p / 100) * this.size) - 1))]);
  }
}

interface ModelStats {
  count: number;
  failures: number;
  latency: Ring;
  queue: Ring;
  compute: Ring;
  batchRequests: Ring;
  batchRows: Ring;
}

export interface MetricsSnapshot {
  inference_count: number;
  failure_count: number;
  /** How many recent inferences the latency figures describe. */
  window: number;
  avg_latency_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  avg_queue_ms: number | null;
  avg_compute_ms: number | null;
  /** Requests per executed batch, and rows per batch, over recent batches. */
  avg_batch_size: number | null;
  avg_batch_rows: number | null;
}

export interface InferenceRecord {
  latencyMs: number;
  queueMs: number;
  computeMs: number;
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);

export class ModelMetrics {
  private readonly stats = new Map<string, ModelStats>();
  private readonly total: Counter<'model'>;
  private readonly failed: Counter<'model'>;
  private readonly duration: Histogram<'model' | 'phase'>;
  private readonly batchSize: Histogram<'model'>;

  constructor(registry: Registry, private readonly window: number, private readonly slowMs: number, private readonly logger: Logger) {
    this.total = new Counter({ name: 'nova_model_inferences_total', help: 'Inference requests answered, by model.', labelNames: ['model'], registers: [registry] });
    this.failed = new Counter({ name: 'nova_model_inference_failures_total', help: 'Inference requests that failed, by model.', labelNames: ['model'], registers: [registry] });
    this.duration = new Histogram({
      name: 'nova_model_inference_duration_seconds',
      help: 'Inference time by model and phase: total (as seen by the caller), queue (waiting for a batch), compute (in the runtime).',
      labelNames: ['model', 'phase'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.batchSize = new Histogram({ name: 'nova_model_batch_size', help: 'Requests per executed batch, by model.', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [registry] });
    // collect() runs with the Gauge as `this`; it reads this instance's windows through `self`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'nova_model_latency_window_ms',
      help: 'Latency percentiles over the most recent inferences (MODEL_METRICS_WINDOW), by model.',
      labelNames: ['model', 'quantile'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [model, s] of self.stats) {
          const [p50, p95, p99] = s.latency.percentiles([50, 95, 99]);
          if (p50 === null) continue;
          this.set({ model, quantile: '0.5' }, p50);
          this.set({ model, quantile: '0.95' }, p95!);
          this.set({ model, quantile: '0.99' }, p99!);
        }
      },
    });
  }

  private of(model: string): ModelStats {
    let s = this.stats.get(model);
    if (!s) {
      const w = this.window;
      s = { count: 0, failures: 0, latency: new Ring(w), queue: new Ring(w), compute: new Ring(w), batchRequests: new Ring(w), batchRows: new Ring(w) };
      this.stats.set(model, s);
    }
    return s;
  }

  success(model: string, version: number, r: InferenceRecord): void {
    const s = this.of(model);
    s.count++;
    s.latency.push(r.latencyMs);
    s.queue.push(r.queueMs);
    s.compute.push(r.computeMs);
    this.total.inc({ model });
    this.duration.observe({ model, phase: 'total' }, r.latencyMs / 1000);
    this.duration.observe({ model, phase: 'queue' }, r.queueMs / 1000);
    this.duration.observe({ model, phase: 'compute' }, r.computeMs / 1000);
    if (r.latencyMs > this.slowMs) {
      this.logger.warn({ model, version, latency_ms: round(r.latencyMs), queue_ms: round(r.queueMs), compute_ms: round(r.computeMs) }, 'slow inference');
    }
  }

  failure(model: string): void {
    this.of(model).failures++;
    this.failed.inc({ model });
  }

  batch(model: string, requests: number, rows: number): void {
    const s = this.of(model);
    s.batchRequests.push(requests);
    s.batchRows.push(rows);
    this.batchSize.observe({ model }, requests);
  }

  snapshot(model: string): MetricsSnapshot {
    const s = this.of(model);
    const [p50, p95, p99] = s.latency.percentiles([50, 95, 99]);
    return {
      inference_count: s.count,
      failure_count: s.failures,
      window: s.latency.length,
      avg_latency_ms: round(s.latency.mean()),
      p50_ms: round(p50),
      p95_ms: round(p95),
      p99_ms: round(p99),
      avg_queue_ms: round(s.queue.mean()),
      avg_compute_ms: round(s.compute.mean()),
      avg_batch_size: round(s.batchRequests.mean()),
      avg_batch_rows: round(s.batchRows.mean()),
    };
  }
}
