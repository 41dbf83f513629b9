// One API contract in code: the web app's response types are the server's TypeBox schemas (imported
// type-only), so renaming a response field in a schema fails the web app's type check. This runs the
// web app's tsc on the real tree (passes), then on a copy of src/ and web/ where one field of
// VideoSchema is renamed (fails, naming the field in a web/src file). It also checks that web/src
// reaches into the server's src/ only through `import type` (nothing of the server in the bundle).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

function typecheckWeb(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'web/tsconfig.json'), '--noEmit', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function webFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? webFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the web app and the server share one API contract', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-contract-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('type-checks on the real tree', () => {
    const r = typecheckWeb(root);
    assert.equal(r.status, 0, r.output);
  });

  it('fails to type-check once a response field of a schema is renamed', () => {
    fs.cpSync(path.join(root, 'src'), path.join(tmp, 'src'), { recursive: true });
    fs.cpSync(path.join(root, 'web'), path.join(tmp, 'web'), { recursive: true });
    fs.copyFileSync(path.join(root, 'vite.config.ts'), path.join(tmp, 'vite.config.ts'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');

    const schemaFile = path.join(tmp, 'src/videos/videos.schemas.ts');
    const text = fs.readFileSync(schemaFile, 'utf8');
    const start = text.indexOf('export const VideoSchema');
    assert.ok(start >= 0, 'VideoSchema not found in videos.schemas.ts');
    const field = text.indexOf('    thumbnail_url: ', start);
    assert.ok(field > start, 'VideoSchema has no thumbnail_url field to rename');
    fs.writeFileSync(schemaFile, `${text.slice(0, field)}    thumbnail_href: ${text.slice(field + '    thumbnail_url: '.length)}`);

    const r = typecheckWeb(tmp);
    assert.notEqual(r.status, 0, 'the web app still type-checks with a renamed response field');
    assert.match(r.output, /web\/src\/[^\n]*thumbnail_url/, r.output);
  });

  it('imports server code into web/src only as types', () => {
    const offenders: string[] = [];
    for (const file of webFiles(path.join(root, 'web/src'))) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (/from '(\.\.\/)+src\//.test(line) && !/^\s*(import|export) type /.test(line)) offenders.push(`${path.relative(root, file)}: ${line.trim()}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
