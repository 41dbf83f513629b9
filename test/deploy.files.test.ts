// The deployment files, checked without a Docker engine: what the Dockerfile copies exists, the
// commands compose runs are real `nova` commands, the variables it sets are ones Nova reads, images
// are pinned, and the lock file installs with `npm ci` (the image's install step).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const dockerfile = read('Dockerfile');
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; entrypoint?: string[]; environment?: Record<string, unknown>; healthcheck?: { test: string[] }; volumes?: string[] }>;
};

/** Dockerfile instructions with line continuations joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** `nova --help`: the commands and flags the CLI really has. */
function novaUsage(): string {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** Dependencies whose engines field claims more than the package that pulls them in needs (see below). */
const KNOWN_ENGINE_CLAIMS = new Set(['@platformatic/dynamic-buffer', '@platformatic/wasm-utils']);

describe('deployment files', () => {
  it('Dockerfile: Node 24, every COPY source exists, non-root, a HEALTHCHECK, no bundled ffmpeg or foreign ONNX binaries', () => {
    const froms = instructions.filter((l) => /^FROM /i.test(l));
    assert.ok(froms.length >= 2 && froms.every((l) => /^FROM node:24[.-]/.test(l)), froms.join('\n'));
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const copy of instructions.filter((l) => /^COPY /i.test(l) && !/--from=/.test(l))) {
      const parts = copy
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(fs.existsSync(path.join(ROOT, src)), `COPY source ${src} does not exist`);
        assert.ok(!ignored.includes(src), `COPY source ${src} is in .dockerignore`);
      }
    }
    const users = instructions.filter((l) => /^USER /i.test(l));
    assert.ok(users.length > 0 && !/root|^USER 0/.test(users.at(-1)!), 'the last USER is not root');
    assert.ok(
      instructions.some((l) => /^HEALTHCHECK .*CMD/.test(l)),
      'HEALTHCHECK',
    );
    assert.match(dockerfile, /rm -rf node_modules\/@ffmpeg-installer node_modules\/@ffprobe-installer/);
    assert.match(dockerfile, /onnxruntime-node\/bin.*darwin.*win32/);
    assert.match(dockerfile, /npm ci\b/);
    assert.match(dockerfile, /ONNXRUNTIME_NODE_INSTALL=skip/);
  });

  it('compose: every command is a real nova command, every Nova variable is read by src/config.ts, images pinned, every service checked', () => {
    const usage = novaUsage();
    const commands = new Set([...usage.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]));
    assert.ok(commands.has('serve') && commands.has('worker') && commands.has('health') && commands.has('train'), usage);
    const configSrc = read('src/config.ts');
    const novaServices = Object.entries(compose.services).filter(([, s]) => s.build === '.');
    assert.ok(novaServices.length >= 2);
    for (const [name, s] of novaServices) {
      const argv = s.command ?? ['serve'];
      assert.ok(commands.has(argv[0]), `${name}: "${argv[0]}" is not a nova command`);
      for (const flag of argv.filter((a) => a.startsWith('--'))) assert.ok(usage.includes(flag), `${name}: nova has no ${flag}`);
      for (const key of Object.keys(s.environment ?? {})) assert.ok(configSrc.includes(`'${key}'`), `${name}: ${key} is not read by src/config.ts`);
      const check = s.healthcheck?.test ?? ['CMD', 'node', 'dist/cli.js', 'health'];
      const cli = check.indexOf('dist/cli.js');
      assert.ok(cli > 0 && commands.has(check[cli + 1]), `${name}: health check ${check.join(' ')}`);
      for (const flag of check.slice(cli + 2).filter((a) => a.startsWith('--'))) assert.ok(usage.includes(flag), `${name}: nova has no ${flag}`);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.image) assert.match(s.image, /^[\w./-]+:[\w.-]*\d[\w.-]*$/, `${name}: image ${s.image} is not pinned to a version`);
      if (!['s3-init'].includes(name) && s.build !== '.') assert.ok(s.healthcheck || name === 'lb', `${name} has no health check`);
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0];
        if (src.startsWith('./')) assert.ok(fs.existsSync(path.join(ROOT, src)), `${name}: mounted file ${src} does not exist`);
      }
    }
    assert.match(compose.services.kafka.image!, /^apache\/kafka:4\./);
    assert.ok(!Object.values(compose.services).some((s) => /minio/.test(s.image ?? '')), 'no archived MinIO image');
  });

  it('the lock file satisfies npm ci (dry run), with no engine or config warnings', () => {
    const res = spawnSync('npm', ['ci', '--dry-run', '--no-audit', '--no-fund'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_ENV: '' } });
    assert.equal(res.status, 0, res.stderr.slice(-3000));
    assert.doesNotMatch(res.stderr, /Unknown (project|user|global) config|not yet covered by allowScripts/, res.stderr.slice(-3000));
    // Two helper packages of @platformatic/kafka declare Node >= 22.19 while the client itself
    // declares (and is tested on) Node 20.19.4+; every other engine mismatch fails.
    const mismatched = [...res.stderr.matchAll(/EBADENGINE\s+package: '(@?[^@']+)@/g)].map((m) => m[1]);
    assert.deepEqual(
      mismatched.filter((p) => !KNOWN_ENGINE_CLAIMS.has(p)),
      [],
      res.stderr.slice(-3000),
    );
  });
});
