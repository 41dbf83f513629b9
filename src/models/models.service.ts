// Model serving: which version of each model serves, loading and validating candidates, atomic
// swaps, and inference through each version's batcher. A reload never disturbs the serving
// version until its replacement has loaded, matched the signature and passed a warm-up run.
import type { ModelsConfig } from '../config.js';
import { AppError, NotFoundError, UnavailableError, UnprocessableError, ValidationError, type FieldError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import { BatchSplitError } from './models.batcher.js';
import { ModelInstance } from './models.instance.js';
import type { MetricsSnapshot, ModelMetrics } from './models.metrics.js';
import { ModelLoadError, ModelProcess, ModelRunError } from './models.process.js';
import { SHM_SLOTS } from './models.protocol.js';
import { ModelRepository, type ModelMetadata, type ResolvedFile } from './models.repository.js';
import { checkWarmup, keepsBatchAxis, parseInputs } from './models.validation.js';
import { sampleInputs, signatureMismatches, tensorToJson, type Signature, type TensorSpec, type Tensors } from './models.signature.js';

export interface ModelInfo extends MetricsSnapshot {
  name: string;
  version: number;
  path: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  loaded_at: string;
  batching: boolean;
  /** Other versions loaded on request (for experiments), besides the serving one. */
  extra_versions: number[];
}

export interface InferResult {
  /**
   * This request's outputs. After a batch they are views of the batch's output buffer: read or
   * copy the values, but do not keep them for long or hand out `.data.buffer`, which holds the
   * whole batch.
   */
  outputs: Tensors;
  latencyMs: number;
  version: number;
}

/** Error text from the runtime, without file system paths, short enough for a response. */
export function runtimeMessage(msg: string): string {
  return msg.replace(/(?:[A-Za-z]:)?(?:\/[^\s:'"]+)+/g, '<file>').replace(/\s+/g, ' ').trim().slice(0, 300);
}

export class ModelService {
  private readonly current = new Map<string, ModelInstance>();
  private readonly extras = new Map<string, Map<number, ModelInstance>>();
  private readonly loadingExtras = new Map<string, Promise<ModelInstance>>();
  /** Per-name chain that serialises reloads of one model. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly retiring = new Set<Promise<void>>();
  private initial: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly repository: ModelRepository,
    private readonly metrics: ModelMetrics,
    private readonly opts: ModelsConfig,
    private readonly logger: Logger,
  ) {}

  /** Loads the highest version of every model in the repository, in the background. */
  startInitialLoad(): Promise<void> {
    this.initial = (async () => {
      const all = await this.repository.scan();
      await Promise.all([...all.keys()].map(async (name) => {
        try {
          const info = await this.reload(name, {});
          this.logger.info({ model: name, version: info.version }, 'model loaded');
        } catch (err) {
          this.logger.error({ model: name, err: err instanceof AppError ? err.detail : (err as Error).message }, 'model could not be loaded at start');
        }
      }));
    })();
    return this.initial;
  }

  /** Waits (bounded) for the start-up load, so the first requests after start see the models. */
  async ready(timeoutMs = this.opts.loadTimeoutMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.initial, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(key, next);
    void next.finally(() => {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }).catch(() => undefined);
    return next;
  }

  has(name: string): boolean {
    return this.current.has(name);
  }

  signature(name: string): Signature | undefined {
    return this.current.get(name)?.signature;
  }

  version(name: string): number | undefined {
    return this.current.get(name)?.version;
  }

  /** The file the serving version of `name` was loaded from. */
  servedFile(name: string): string | undefined {
    return this.current.get(name)?.file;
  }

  private info(inst: ModelInstance, showExternalPaths: boolean): ModelInfo {
    const shown = this.repository.isInRepository(inst.file) || showExternalPaths ? this.repository.display(inst.file) : `(outside MODELS_DIR)/${inst.file.split('/').pop()}`;
    return {
      name: inst.name,
      version: inst.version,
      path: shown,
      inputs: inst.signature.inputs,
      outputs: inst.signature.outputs,
      loaded_at: inst.loadedAt,
      batching: this.opts.batching && inst.batchable,
      extra_versions: [...(this.extras.get(inst.name)?.keys() ?? [])].sort((a, b) => a - b),
      ...this.metrics.snapshot(inst.name),
    };
  }

  list(showExternalPaths: boolean): ModelInfo[] {
    return [...this.current.values()].sort((a, b) => a.name.localeCompare(b.name)).map((i) => this.info(i, showExternalPaths));
  }

  /** Spawns a process for `file` and validates it; on any failure the process is gone again. */
  private async candidate(name: string, version: number, resolved: ResolvedFile, expected: Signature | undefined): Promise<ModelInstance> {
    const meta: ModelMetadata | null = await this.repository.metadata(resolved.file);
    let started: Awaited<ReturnType<typeof ModelProcess.start>>;
    const processOpts = { threads: this.opts.threads, loadTimeoutMs: this.opts.loadTimeoutMs, inferTimeoutMs: this.opts.inferTimeoutMs };
    try {
      started = await ModelProcess.start(resolved.file, processOpts);
    } catch (err) {
      if (err instanceof ModelLoadError) throw new UnprocessableError(`The file is not a loadable ONNX model: ${runtimeMessage(err.message)}`);
      throw err;
    }
    const inst = new ModelInstance(name, version, resolved.file, started.signature, started.proc, processOpts, {
      enabled: this.opts.batching,
      maxRows: this.opts.maxBatchSize,
      maxDelayMs: this.opts.maxQueueDelayUs / 1000,
      maxInFlight: SHM_SLOTS,
    }, { onBatch: (requests, rows) => this.metrics.batch(name, requests, rows) }, this.logger);
    try {
      const problems: FieldError[] = [];
      if (expected) for (const p of signatureMismatches(expected, started.signature)) problems.push({ field: 'signature', message: p });
      if (meta?.signature) for (const p of signatureMismatches(meta.signature, started.signature)) problems.push({ field: 'metadata.signature', message: p });
      if (problems.length) {
        throw new UnprocessableError(`The model's signature does not match ${expected ? `version ${this.version(name)} of "${name}"` : 'its metadata.json'}: ${problems.map((p) => p.message).join('; ')}.`, problems);
      }
      await this.warmup(inst, meta);
      return inst;
    } catch (err) {
      await inst.retire();
      throw err;
    }
  }

  private async warmup(inst: ModelInstance, meta: ModelMetadata | null): Promise<void> {
    const runs: Array<{ inputs: Tensors; expect?: NonNullable<ModelMetadata['warmup']> }> = [{ inputs: sampleInputs(inst.signature) }];
    if (inst.batchable) {
      // Two rows in must give two rows out, or requests cannot be joined along the first axis.
      let keeps = false;
      try {
        keeps = keepsBatchAxis((await inst.warmup(sampleInputs(inst.signature, 2))).outputs, 2);
      } catch {
        keeps = false;
      }
      if (!keeps) {
        inst.disableBatching();
        this.logger.info({ model: inst.name, version: inst.version }, 'outputs do not follow the first input axis: dynamic batching is off for this model');
      }
    }
    if (meta?.warmup) {
      const parsed = parseInputs(inst.signature, meta.warmup.inputs, Number.MAX_SAFE_INTEGER);
      if (typeof parsed === 'string' || Array.isArray(parsed)) {
        const why = typeof parsed === 'string' ? parsed : parsed.map((e) => `${e.field} ${e.message}`).join('; ');
        throw new UnprocessableError(`metadata.json warmup inputs do not fit the model: ${why}`);
      }
      runs.push({ inputs: parsed, expect: meta.warmup });
    }
    for (const r of runs) {
      let outputs: Tensors;
      try {
        outputs = (await inst.warmup(r.inputs)).outputs;
      } catch (err) {
        throw new UnprocessableError(`The warm-up inference failed: ${runtimeMessage((err as Error).message)}`);
      }
      const problem = checkWarmup(inst.signature, outputs, r.expect);
      if (problem) throw new UnprocessableError(`The warm-up inference ${problem}.`);
    }
  }

  private async retire(inst: ModelInstance): Promise<void> {
    const p = inst.retire().catch((err) => this.logger.warn({ err, model: inst.name }, 'retiring a model version failed'));
    this.retiring.add(p);
    await p;
    this.retiring.delete(p);
  }

  /**
   * Loads `path`, `version`, or (neither) the highest version on disk, validates it and makes it
   * the serving version. Resolves after the old version has drained and its process has ended.
   */
  async reload(name: string, req: { path?: string; version?: number }): Promise<ModelInfo> {
    if (this.stopped) throw new UnavailableError('Nova is shutting down.');
    let retired: ModelInstance | undefined;
    const info = await this.withLock(name, async () => {
      const old = this.current.get(name);
      let resolved: ResolvedFile;
      let version: number;
      if (req.path !== undefined) {
        resolved = await this.repository.resolvePath(req.path);
        if (resolved.name === name && resolved.version !== undefined) version = resolved.version;
        else if (resolved.name !== undefined && resolved.name !== name) {
          throw new ValidationError(`That file is version ${resolved.version} of model "${resolved.name}", not of "${name}".`, [{ field: 'path', message: 'belongs to another model' }]);
        } else {
          // A file outside the repository layout becomes the next version number.
          const onDisk = await this.repository.versions(name);
          version = Math.max(old?.version ?? 0, onDisk.at(-1) ?? 0) + 1;
        }
      } else if (req.version !== undefined) {
        resolved = await this.repository.versionFile(name, req.version);
        version = req.version;
      } else {
        const versions = await this.repository.versions(name);
        if (!versions.length) throw new NotFoundError(`Model "${name}" has no version in the model repository; pass a path to load one.`);
        version = versions.at(-1)!;
        resolved = await this.repository.versionFile(name, version);
      }
      const inst = await this.candidate(name, version, resolved, old?.signature);
      // The swap: from here new requests go to `inst`; those already queued on `old` finish there.
      this.current.set(name, inst);
      const extra = this.extras.get(name)?.get(version);
      if (extra) {
        this.extras.get(name)!.delete(version);
        void this.retire(extra);
      }
      retired = old;
      this.logger.info({ model: name, version, previous: old?.version ?? null }, 'model version serving');
      return this.info(inst, true);
    });
    if (retired) await this.retire(retired);
    return info;
  }

  /** The instance to run: the serving version, or another version loaded on demand. */
  private async instance(name: string, version?: number): Promise<ModelInstance> {
    const cur = this.current.get(name);
    if (!cur) throw new NotFoundError(`Model "${name}" is not being served.`);
    if (version === undefined || version === cur.version) return cur;
    const loaded = this.extras.get(name)?.get(version);
    if (loaded) {
      loaded.lastUsed = Date.now();
      return loaded;
    }
    if (this.opts.maxExtraVersions === 0) throw new NotFoundError(`Version ${version} of "${name}" is not being served (MODEL_MAX_EXTRA_VERSIONS is 0).`);
    const key = `${name}@${version}`;
    let loading = this.loadingExtras.get(key);
    if (!loading) {
      loading = this.withLock(name, async () => {
        const resolved = await this.repository.versionFile(name, version);
        const inst = await this.candidate(name, version, resolved, this.current.get(name)?.signature);
        const map = this.extras.get(name) ?? new Map<number, ModelInstance>();
        this.extras.set(name, map);
        map.set(version, inst);
        // Keep at most maxExtraVersions: the least recently used goes.
        while (map.size > this.opts.maxExtraVersions) {
          const lru = [...map.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0];
          map.delete(lru.version);
          void this.retire(lru);
        }
        this.logger.info({ model: name, version }, 'extra model version loaded');
        return inst;
      });
      this.loadingExtras.set(key, loading);
      void loading.finally(() => this.loadingExtras.delete(key)).catch(() => undefined);
    }
    return loading;
  }

  /** Runs typed tensors (already validated against the signature) through a version's batcher. */
  async run(name: string, inputs: Tensors, version?: number): Promise<InferResult> {
    return this.runOn(await this.instance(name, version), inputs);
  }

  private async runOn(inst: ModelInstance, inputs: Tensors): Promise<InferResult> {
    const name = inst.name;
    const started = performance.now();
    try {
      const out = await inst.infer(inputs);
      const latencyMs = performance.now() - started;
      this.metrics.success(name, inst.version, { latencyMs, queueMs: out.queueMs, computeMs: out.computeMs });
      return { outputs: out.outputs, latencyMs, version: inst.version };
    } catch (err) {
      this.metrics.failure(name);
      if (err instanceof ModelRunError && /process|restarted|unloaded|longer than/.test(err.message)) {
        throw new UnavailableError(`Model "${name}" could not run: ${runtimeMessage(err.message)}.`);
      }
      if (err instanceof ModelRunError || err instanceof BatchSplitError) {
        throw new UnprocessableError(`Model "${name}" could not run on these inputs: ${runtimeMessage(err.message)}`);
      }
      throw err;
    }
  }

  /** The JSON endpoint: validates `{<input>: {dims, data}}` against the signature, runs, converts back. */
  async inferJson(name: string, body: Record<string, { dims: number[]; data: unknown[] }>, version?: number) {
    const inst = await this.instance(name, version);
    const parsed = parseInputs(inst.signature, body, this.opts.inferMaxElements);
    if (typeof parsed === 'string') throw new ValidationError(parsed);
    if (Array.isArray(parsed)) throw new ValidationError(`The inputs do not fit model "${name}": ${parsed.map((e) => `${e.field} ${e.message}`).join('; ')}.`, parsed);
    const r = await this.runOn(inst, parsed);
    const outputs: Record<string, ReturnType<typeof tensorToJson>> = {};
    for (const [k, t] of Object.entries(r.outputs)) outputs[k] = tensorToJson(t);
    return { outputs, latency_ms: Math.round(r.latencyMs * 1000) / 1000, model_version: r.version };
  }

  /** Process ids of every model process (for diagnostics and the memory test). */
  pids(): number[] {
    const all = [...this.current.values(), ...[...this.extras.values()].flatMap((m) => [...m.values()])];
    return all.map((i) => i.pid).filter((p): p is number => p !== undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.initial.catch(() => undefined);
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => undefined)));
    const all = [...this.current.values(), ...[...this.extras.values()].flatMap((m) => [...m.values()])];
    this.current.clear();
    this.extras.clear();
    await Promise.all([...all.map((i) => i.retire().catch(() => undefined)), ...this.retiring]);
  }
}
