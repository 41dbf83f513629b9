// One loaded version of a model: its process, its batcher and what it was loaded from. A version is
// retired by draining its queue (requests already routed to it finish here) and then ending the
// process. A process that dies unexpectedly is restarted from the same file on the next request.
import type { Logger } from '../infra/logger.js';
import { DynamicBatcher, type BatchOutcome, type BatcherOptions } from './models.batcher.js';
import { ModelProcess, ModelUnavailableError, type ProcessOptions } from './models.process.js';
import { isBatchable, type Signature, type Tensors } from './models.signature.js';
import type { Outgoing } from './models.wire.js';

export interface InstanceHooks {
  onBatch(requests: number, rows: number): void;
}

export class ModelInstance {
  readonly batcher: DynamicBatcher;
  readonly loadedAt = new Date().toISOString();
  lastUsed = Date.now();
  private restarting: Promise<ModelProcess> | null = null;
  private retired = false;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly file: string,
    readonly signature: Signature,
    private proc: ModelProcess,
    private readonly processOpts: ProcessOptions,
    batcherOpts: BatcherOptions,
    hooks: InstanceHooks,
    private readonly logger: Logger,
  ) {
    this.watch(proc);
    this.batcher = new DynamicBatcher((inputs) => this.runOnce(inputs), batcherOpts, isBatchable(signature), hooks.onBatch);
  }

  get batchable(): boolean {
    return this.batcher.batchable;
  }

  /** Turns batching off for a model whose outputs do not follow its inputs' first axis. */
  disableBatching(): void {
    this.batcher.batchable = false;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  private watch(proc: ModelProcess): void {
    proc.onUnexpectedExit = (reason) => this.logger.warn({ model: this.name, version: this.version, reason }, 'model process ended unexpectedly; it restarts on the next request');
  }

  private async process(): Promise<ModelProcess> {
    if (this.proc.alive) return this.proc;
    if (this.retired) throw new ModelUnavailableError('this model version has been unloaded');
    this.restarting ??= ModelProcess.start(this.file, this.processOpts).then(
      ({ proc }) => {
        this.proc = proc;
        this.watch(proc);
        this.restarting = null;
        return proc;
      },
      (err) => {
        this.restarting = null;
        throw new ModelUnavailableError(`the model process could not be restarted: ${(err as Error).message}`);
      },
    );
    return this.restarting;
  }

  private async runOnce(inputs: Outgoing): Promise<{ outputs: Tensors; computeMs: number }> {
    return (await this.process()).run(inputs);
  }

  infer(inputs: Tensors): Promise<BatchOutcome> {
    this.lastUsed = Date.now();
    return this.batcher.submit(inputs);
  }

  /** Runs directly, bypassing the queue: used for the warm-up before the version serves. */
  warmup(inputs: Tensors): Promise<{ outputs: Tensors; computeMs: number }> {
    return this.proc.run(inputs);
  }

  /** Lets queued and running requests finish, then ends the process. */
  async retire(): Promise<void> {
    this.retired = true;
    await this.batcher.drain();
    await this.restarting?.catch(() => undefined);
    await this.proc.stop();
  }
}
