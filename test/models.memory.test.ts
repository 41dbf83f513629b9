// 100 reloads must not grow memory: onnxruntime-node keeps native memory after a session is
// released (ORT #25325), so Nova unloads a version by ending the process that held it. Measured
// as the RSS of this whole process tree (the test process, which runs Nova, and every model
// process under it), read from /proc.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { infer, reloadModel } from '../src/client/models.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import type { ModelsCapability } from '../src/models/models.routes.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function parentOf(pid: number): number | null {
  try {
    // The command name may hold spaces or parentheses: the fields after the last ')' are fixed.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** This process and all its descendants. */
function tree(root = process.pid): number[] {
  const pids = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const children = new Map<number, number[]>();
  for (const p of pids) {
    const pp = parentOf(p);
    if (pp !== null) children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

async function settledTreeRssMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  // The median of a few samples smooths out a transient allocation.
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(tree().reduce((s, p) => s + rssKb(p), 0) / 1024);
    await new Promise((r) => setTimeout(r, 50));
  }
  return samples.sort((a, b) => a - b)[2];
}

const ROW = [0.7, 1.2, 3.1, 1.5, 0.2, 0.6, 2.0, 1.6, 1];

describe('model reload memory', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  let t: TestNova;
  let admin: NovaClient;
  let modelsDir: string;

  before(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-models-'));
    fs.mkdirSync(path.join(modelsDir, 'feed-ranker', '1'), { recursive: true });
    for (const f of ['model.onnx', 'metadata.json']) fs.copyFileSync(path.resolve('models/feed-ranker/1', f), path.join(modelsDir, 'feed-ranker', '1', f));
    t = await startTestNova({ MODELS_DIR: modelsDir });
    admin = t.client.as(null);
    await admin.register('mem_admin', 'password-123');
  });
  after(async () => {
    await t?.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  const cycle = async (): Promise<void> => {
    const r = await reloadModel(admin, 'feed-ranker', { version: 1 });
    assert.equal(r.status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await infer(admin, 'feed-ranker', { features: { dims: [4, 9], data: [...ROW, ...ROW, ...ROW, ...ROW] } })).status, 200);
  };

  it('100 reloads leave the process tree RSS within 10 % and one model process', async () => {
    const service = (t.nova.capabilities.find((c) => c.name === 'models') as ModelsCapability).service;
    // Warm up first: code paths, HTTP connections and allocator arenas settle in the first cycles.
    for (let i = 0; i < 5; i++) await cycle();
    const startPids = service.pids();
    const before = await settledTreeRssMb();
    for (let i = 0; i < 100; i++) await cycle();
    const afterMb = await settledTreeRssMb();
    const pids = service.pids();
    assert.equal(pids.length, 1, 'one model process serves');
    assert.notDeepEqual(pids, startPids, 'the process was replaced');
    const modelProcs = tree().filter((p) => p !== process.pid && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('models.child'));
    assert.deepEqual(modelProcs, pids, 'no retired model process is left behind');
    const growth = (afterMb - before) / before;
    console.log(`# process tree RSS: ${before.toFixed(1)} MB before, ${afterMb.toFixed(1)} MB after 100 reloads (${(growth * 100).toFixed(1)} %)`);
    assert.ok(growth <= 0.1, `RSS grew ${(growth * 100).toFixed(1)} % (${before.toFixed(1)} → ${afterMb.toFixed(1)} MB)`);
  });
});
