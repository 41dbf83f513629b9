// A model process: owns one ONNX Runtime session and runs it for the parent over IPC.
// Sessions live in their own process because `session.run` blocks its thread (ORT #19611) and
// native memory is not returned on session release (ORT #25325): retiring the process frees it all.
import * as ort from 'onnxruntime-node';
import { SHM_ENV, SHM_FD_BASE, type FromChild, type ToChild, type WireTensors } from './models.protocol.js';
import { isTensorType, type Signature, type TensorSpec, type Tensors } from './models.signature.js';
import { fromWire, Scratch, toWire } from './models.wire.js';

const shared = process.env[SHM_ENV] === '1';
/** One receive buffer per slot: a slot's next run only comes after this one has answered. */
const scratch = new Map<number, Scratch>();

let session: ort.InferenceSession | null = null;

function send(msg: FromChild): void {
  process.send?.(msg);
}

function spec(m: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!m.isTensor) throw new Error(`"${m.name}" is not a tensor; only tensor inputs and outputs are served`);
  if (!isTensorType(m.type)) throw new Error(`"${m.name}" has element type ${m.type}, which is not served`);
  return { name: m.name, type: m.type, shape: [...m.shape] };
}

async function load(path: string, threads: number): Promise<void> {
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const signature: Signature = { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
    send({ op: 'loaded', signature });
  } catch (err) {
    send({ op: 'load_failed', error: err instanceof Error ? err.message : String(err) });
  }
}

async function run(id: number, slot: number, wire: WireTensors): Promise<void> {
  if (!session) return send({ op: 'run_failed', id, error: 'no model loaded' });
  try {
    if (!scratch.has(slot)) scratch.set(slot, new Scratch());
    const inputs = fromWire(wire, shared ? SHM_FD_BASE + 2 * slot : null, scratch.get(slot));
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const started = performance.now();
    const results = await session.run(feeds);
    const computeMs = performance.now() - started;
    const outputs: Tensors = {};
    for (const [name, v] of Object.entries(results)) {
      const t = v as ort.Tensor;
      outputs[name] = { type: t.type as Tensors[string]['type'], dims: [...t.dims], data: t.data as Tensors[string]['data'] };
    }
    send({ op: 'result', id, outputs: toWire(outputs, shared ? SHM_FD_BASE + 2 * slot + 1 : null), compute_ms: computeMs });
  } catch (err) {
    send({ op: 'run_failed', id, error: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (msg: ToChild) => {
  if (msg.op === 'load') void load(msg.path, msg.threads);
  else if (msg.op === 'run') void run(msg.id, msg.slot, msg.inputs);
});
// The parent going away (crash or kill) must not leave this process behind.
process.on('disconnect', () => process.exit(0));
send({ op: 'ready' });
