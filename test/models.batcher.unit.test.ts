// The dynamic batcher's scheduling and the shared-memory stacking of a batch, without a model
// process: the runner here is a function that records each batch it gets and answers when the
// test says so, so what is dispatched when can be checked exactly. Real inference through the same
// batcher is covered by models.serving.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DynamicBatcher, type BatcherOptions } from '../src/models/models.batcher.js';
import type { Logger } from '../src/infra/logger.js';
import { ModelInstance } from '../src/models/models.instance.js';
import { ModelProcess, ModelRunError, ModelUnavailableError } from '../src/models/models.process.js';
import type { Tensor, Tensors } from '../src/models/models.signature.js';
import { fromWire, stack, toWire, type Outgoing } from '../src/models/models.wire.js';
import { encodeOnnxModel, ONNX_FLOAT, type OnnxNode } from '../src/models/onnx.codec.js';

/** Rows of 2 values each, the first value of row r being base + r. */
function rows(base: number, n: number): Tensors {
  const data = new Float32Array(n * 2);
  for (let r = 0; r < n; r++) data[2 * r] = base + r;
  return { x: { type: 'float32', dims: [n, 2], data } };
}

interface Call {
  inputs: Outgoing;
  rows: number;
  /** The first value of each row, in batch order. */
  firsts: number[];
  answer(): void;
  fail(err: Error): void;
}

/** A runner that doubles the first column, answering only when `answer()` is called. */
function controlledRunner(): { calls: Call[]; run: (inputs: Outgoing) => Promise<{ outputs: Tensors; computeMs: number }> } {
  const calls: Call[] = [];
  return {
    calls,
    run: (inputs) =>
      new Promise((resolve, reject) => {
        const x = Array.isArray(inputs.x) ? stack(inputs.x) : (inputs.x as Tensor);
        const n = x.dims[0];
        const out = new Float32Array(n);
        for (let r = 0; r < n; r++) out[r] = 2 * (x.data as Float32Array)[2 * r];
        const firsts = Array.from({ length: n }, (_, r) => (x.data as Float32Array)[2 * r]);
        calls.push({ inputs, rows: n, firsts, answer: () => resolve({ outputs: { y: { type: 'float32', dims: [n, 1], data: out } }, computeMs: 1 }), fail: reject });
      }),
  };
}

const OPTS: BatcherOptions = { enabled: true, maxRows: 10_000, maxDelayMs: 60_000, maxInFlight: 2 };
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('dynamic batcher', () => {
  it('shares a full queue out between the free slots, and every request gets its own rows back', async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 64 }, true);
    // 16 requests of 4 rows: the 16th fills a batch, so the queue goes at once, in two halves.
    const pending = Array.from({ length: 16 }, (_, i) => b.submit(rows(i * 100, 4)));
    await turn();
    assert.equal(runner.calls.length, 2, 'both slots got a batch before either answered');
    assert.deepEqual(
      runner.calls.map((c) => c.rows),
      [32, 32],
    );
    for (const c of runner.calls) c.answer();
    const results = await Promise.all(pending);
    results.forEach((r, i) => {
      assert.deepEqual(
        [...(r.outputs.y.data as Float32Array)],
        [0, 1, 2, 3].map((k) => 2 * (i * 100 + k)),
        `request ${i}`,
      );
      assert.deepEqual(r.outputs.y.dims, [4, 1]);
      assert.equal(r.batchRequests, 8);
    });
  });

  it('with one slot busy, sends everything waiting as one batch into the other', async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 8 }, true);
    const first = b.submit(rows(0, 8)); // full: goes at once
    const second = b.submit(rows(0, 8)); // into the second slot
    await turn();
    assert.equal(runner.calls.length, 2);
    const rest = Array.from({ length: 6 }, (_, i) => b.submit(rows(10 * (i + 1), 1)));
    await turn();
    assert.equal(runner.calls.length, 2, 'no slot is free');
    runner.calls[0].answer();
    await first;
    await turn();
    await turn();
    // 6 rows < maxRows and the delay is a minute: yet a completion sends what has waited, as one
    // batch into the slot that freed (the other is still busy).
    assert.equal(runner.calls.length, 3);
    assert.equal(runner.calls[2].rows, 6);
    assert.ok(Array.isArray(runner.calls[2].inputs.x), 'the batch is passed as row blocks, not copied into one buffer');
    runner.calls[1].answer();
    runner.calls[2].answer();
    await second;
    const results = await Promise.all(rest);
    results.forEach((r, i) => assert.equal((r.outputs.y.data as Float32Array)[0], 2 * 10 * (i + 1)));
  });

  it('sends requests that come back after a completion on the next turn', async () => {
    const runner = controlledRunner();
    // A closed loop of 4 clients; the first round goes when full, the later ones because a batch
    // just completed (the delay, a minute, is never waited out).
    const small = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 4, maxInFlight: 1 }, true);
    const loop = async (client: number): Promise<number> => {
      let total = 0;
      for (let round = 0; round < 3; round++) total += (await small.submit(rows(client, 1))).outputs.y.data[0] as number;
      return total;
    };
    const clients = Promise.all([0, 1, 2, 3].map(loop));
    for (let round = 0; round < 3; round++) {
      while (runner.calls.length <= round) await turn();
      assert.equal(runner.calls[round].rows, 4, `round ${round} went as one batch of all four clients`);
      runner.calls[round].answer();
    }
    assert.deepEqual(await clients, [0, 6, 12, 18]);
  });

  it('sends the rest of a shared-out queue into the next slot, but not requests of another shape', async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 4 }, true);
    const other: Tensors = { x: { type: 'float32', dims: [1, 3], data: new Float32Array(3) } };
    const p = [b.submit(rows(0, 2)), b.submit(other), b.submit(rows(10, 2))];
    await turn();
    // The two [n, 2] requests fill a batch and are shared out between the two slots; the [1, 3]
    // request has not waited out its delay and stays queued.
    assert.deepEqual(
      runner.calls.map((c) => c.rows),
      [2, 2],
    );
    assert.deepEqual(
      runner.calls.map((c) => (c.inputs.x as Tensor).dims[1]),
      [2, 2],
    );
    runner.calls[0].answer();
    while (runner.calls.length < 3) await turn();
    assert.deepEqual(runner.calls[2].inputs.x, other.x, 'after a completion, what waited goes');
    runner.calls[1].answer();
    runner.calls[2].answer();
    const [first, , third] = await Promise.all(p);
    assert.equal(first.outputs.y.data[0], 0);
    assert.equal(third.outputs.y.data[0], 20);
  });

  it('never shares a batch between requests of different trailing dims, nor when batching is off', async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 4, maxInFlight: 1 }, true);
    const odd: Tensors = { x: { type: 'float32', dims: [1, 3], data: new Float32Array(3) } };
    const p = [b.submit(rows(0, 2)), b.submit(odd), b.submit(rows(5, 2))];
    await turn();
    assert.deepEqual(
      runner.calls.map((c) => c.rows),
      [4],
      'the two [n, 2] requests went together',
    );
    runner.calls[0].answer();
    while (runner.calls.length < 2) await turn();
    assert.deepEqual(runner.calls[1].inputs.x, odd.x, 'the [1, 3] request went alone');
    runner.calls[1].answer();
    await Promise.all(p);
    const off = controlledRunner();
    const nb = new DynamicBatcher(off.run, { ...OPTS, enabled: false, maxInFlight: 4 }, true);
    const q = [nb.submit(rows(0, 1)), nb.submit(rows(1, 1)), nb.submit(rows(2, 1))];
    await turn();
    assert.deepEqual(
      off.calls.map((c) => c.rows),
      [1, 1, 1],
    );
    for (const c of off.calls) c.answer();
    await Promise.all(q);
  });

  it("when a batch fails on its inputs, runs each request alone, so one request's error reaches only it", { timeout: 10_000 }, async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 64, maxDelayMs: 0 }, true);
    const [good1, bad, good2] = [b.submit(rows(1, 1)), b.submit(rows(-7, 1)), b.submit(rows(3, 1))];
    const settled = Promise.allSettled([good1, bad, good2]);
    await turn();
    assert.deepEqual(
      runner.calls.map((c) => c.firsts),
      [[1, -7, 3]],
      'one batch of three',
    );
    // What ONNX Runtime says when one request's index is out of range: the whole batch fails.
    runner.calls[0].fail(new ModelRunError('indices element out of data bounds, idx=-7'));
    while (runner.calls.length < 3) await turn();
    // Each re-run takes a slot like any batch: two slots, so two go and the third waits.
    assert.deepEqual(
      runner.calls.slice(1).map((c) => c.firsts),
      [[1], [-7]],
    );
    await turn();
    assert.equal(runner.calls.length, 3, 'no third batch while both slots are taken');
    runner.calls[2].fail(new ModelRunError('indices element out of data bounds, idx=-7'));
    while (runner.calls.length < 4) await turn();
    assert.deepEqual(runner.calls[3].firsts, [3]);
    runner.calls[1].answer();
    runner.calls[3].answer();
    const [r1, rBad, r2] = await settled;
    assert.equal(r1.status, 'fulfilled');
    assert.equal(r2.status, 'fulfilled');
    if (r1.status === 'fulfilled' && r2.status === 'fulfilled') {
      assert.deepEqual([r1.value.outputs.y.data[0], r2.value.outputs.y.data[0]], [2, 6]);
      assert.deepEqual([r1.value.batchRequests, r2.value.batchRequests], [1, 1]);
    }
    assert.equal(rBad.status, 'rejected');
    assert.equal(runner.calls.length, 4, 'a request that fails alone is not run again');
    await b.drain();
  });

  it('does not re-run a failed batch when the model process is gone', { timeout: 10_000 }, async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 64, maxDelayMs: 0 }, true);
    const p = [b.submit(rows(1, 1)), b.submit(rows(2, 1))];
    await turn();
    assert.deepEqual(
      runner.calls.map((c) => c.rows),
      [2],
    );
    const gone = new ModelUnavailableError('model process killed by SIGKILL');
    runner.calls[0].fail(gone);
    for (const r of await Promise.allSettled(p)) assert.deepEqual(r, { status: 'rejected', reason: gone });
    await turn();
    assert.equal(runner.calls.length, 1);
    await b.drain();
  });

  it('shares a queue out by rows: no share grows past its part by admitting a large request', { timeout: 10_000 }, async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 64 }, true);
    // 64 rows fill a batch; shared between two slots, each part is 32 rows.
    const p = [b.submit(rows(0, 30)), b.submit(rows(100, 30)), b.submit(rows(200, 4))];
    await turn();
    assert.deepEqual(
      runner.calls.map((c) => c.rows),
      [30, 34],
    );
    for (const c of runner.calls) c.answer();
    const results = await Promise.all(p);
    assert.deepEqual(
      results.map((r) => r.outputs.y.data[0]),
      [0, 200, 400],
    );
  });

  it('a batch hook that throws neither fails the requests nor keeps a slot taken', { timeout: 10_000 }, async () => {
    const runner = controlledRunner();
    const b = new DynamicBatcher(runner.run, { ...OPTS, maxRows: 1, maxInFlight: 1 }, true, () => {
      throw new Error('metrics are down');
    });
    const p = [b.submit(rows(1, 1)), b.submit(rows(2, 1))];
    for (let i = 0; i < 2; i++) {
      while (runner.calls.length <= i) await turn();
      runner.calls[i].answer();
    }
    assert.deepEqual(
      (await Promise.all(p)).map((r) => r.outputs.y.data[0]),
      [2, 4],
    );
    await b.drain();
  });
});

describe('shared-memory tensors', () => {
  it('stacks row blocks into the file with one write and reads back the joined tensor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-wire-'));
    const fd = fs.openSync(path.join(dir, 'slot'), 'w+');
    try {
      const blocks = [rows(0, 3).x, rows(100, 1).x, rows(200, 5).x];
      // Views into larger buffers must send only their own bytes.
      const big = new Float32Array(100).fill(7);
      const view: Tensor = { type: 'float32', dims: [2, 2], data: big.subarray(10, 14) };
      const wire = toWire(
        {
          x: [...blocks, view],
          ids: { type: 'int32', dims: [2], data: new Int32Array([5, 6]) },
          tags: [
            { type: 'string', dims: [1], data: ['a'] },
            { type: 'string', dims: [2], data: ['b', 'c'] },
          ],
        },
        fd,
      );
      assert.deepEqual(wire.x.dims, [11, 2]);
      assert.deepEqual(wire.tags, { type: 'string', dims: [3], inline: ['a', 'b', 'c'] });
      const back = fromWire(wire, fd);
      const expected = stack([...blocks, view]);
      assert.deepEqual(back.x.dims, [11, 2]);
      assert.deepEqual([...(back.x.data as Float32Array)], [...(expected.data as Float32Array)]);
      assert.deepEqual([...(back.ids.data as Int32Array)], [5, 6]);
      assert.deepEqual(back.tags.data, ['a', 'b', 'c']);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model process timeout', () => {
  /** y = x·w repeated: the work grows with the rows, so one row is quick and many rows are slow. */
  function slowModel(width: number, layers: number): Uint8Array {
    const nodes: OnnxNode[] = [{ opType: 'MatMul', inputs: ['x', 'w_in'], outputs: ['h0'] }];
    for (let l = 0; l < layers; l++) nodes.push({ opType: 'MatMul', inputs: [`h${l}`, 'w'], outputs: [`h${l + 1}`] });
    nodes.push({ opType: 'MatMul', inputs: [`h${layers}`, 'w_out'], outputs: ['y'] });
    const fill = (n: number, v: number) => new Float32Array(n).fill(v);
    return encodeOnnxModel({
      irVersion: 8,
      opsetVersion: 17,
      producerName: 'test',
      producerVersion: '1',
      modelVersion: 1,
      docString: '',
      graphName: 'slow',
      inputs: [{ name: 'x', elemType: ONNX_FLOAT, shape: ['n', 2] }],
      outputs: [{ name: 'y', elemType: ONNX_FLOAT, shape: ['n', 1] }],
      nodes,
      initializers: [
        { name: 'w_in', dims: [2, width], data: fill(2 * width, 1 / 2) },
        { name: 'w', dims: [width, width], data: fill(width * width, 1 / width) },
        { name: 'w_out', dims: [width, 1], data: fill(width, 1 / width) },
      ],
      metadata: {},
    });
  }

  it('a timed-out process counts as gone at once, so the next batch waits for the restarted one', { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-timeout-'));
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, slowModel(512, 16));
    const processOpts = { threads: 1, loadTimeoutMs: 30_000, inferTimeoutMs: 300 };
    const { proc, signature } = await ModelProcess.start(file, processOpts);
    const logger = { warn: () => {} } as unknown as Logger;
    const inst = new ModelInstance('slow', 1, file, signature, proc, processOpts, { enabled: true, maxRows: 1 << 20, maxDelayMs: 0, maxInFlight: 2 }, { onBatch: () => {} }, logger);
    try {
      const firstPid = inst.pid;
      // 40 000 rows through 16 layers of 512×512 take seconds: the run times out and the process is killed.
      await assert.rejects(inst.infer(rows(1, 40_000)), /longer than 300 ms/);
      assert.equal(proc.alive, false, 'the killed process no longer takes runs, though its exit is still on its way');
      // Sent in the same turn as the timeout, before the exit arrives: it goes to a new process.
      const next = await inst.infer(rows(1, 1));
      assert.ok(Math.abs((next.outputs.y.data[0] as number) - 0.5) < 1e-4);
      assert.notEqual(inst.pid, firstPid);
    } finally {
      await inst.retire();
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
