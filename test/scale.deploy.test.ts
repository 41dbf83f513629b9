// The deployment files cannot run here (no Docker engine), so they are checked against the code:
// docs/deploy.md documents exactly the variables src/config.ts reads, the compose environment is a
// valid configuration, and nginx balances over the compose API services on Nova's ports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Variables read by src/config.ts: every `(env, 'NAME'` call. */
function configVariables(): Set<string> {
  return new Set([...read('src/config.ts').matchAll(/\(env, '([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]));
}

/** The `x-nova-env` block of docker-compose.yml as key → value. */
function composeEnv(): Record<string, string> {
  const lines = read('docker-compose.yml').split('\n');
  const start = lines.findIndex((l) => l.startsWith('x-nova-env:'));
  assert.ok(start >= 0, 'docker-compose.yml has an x-nova-env block');
  const env: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const m = /^ {2}([A-Z][A-Z0-9_]*): (.+)$/.exec(line);
    if (m) env[m[1]] = m[2].trim();
  }
  return env;
}

describe('deployment files agree with the code', () => {
  it('docs/deploy.md lists every variable src/config.ts reads, and no other', () => {
    const vars = configVariables();
    assert.ok(vars.size > 50, `found only ${vars.size} variables: the pattern no longer matches config.ts`);
    const doc = read('docs/deploy.md');
    const tables = doc.slice(doc.indexOf('## Environment variables'));
    const missing = [...vars].filter((v) => !tables.includes(`\`${v}\``));
    assert.deepEqual(missing, [], 'document these in docs/deploy.md');
    const documented = new Set([...tables.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((x) => x[1])));
    assert.deepEqual(
      [...documented].filter((v) => !vars.has(v)),
      [],
      'documented but not read by src/config.ts',
    );
  });

  it('the compose environment is a valid configuration of variables Nova reads', () => {
    const env = composeEnv();
    const vars = configVariables();
    assert.deepEqual(
      Object.keys(env).filter((k) => !vars.has(k)),
      [],
    );
    const cfg = loadConfig(env);
    assert.equal(cfg.uploadStore, 'file');
    assert.equal(cfg.uploadDir, '/uploads');
    assert.ok(cfg.databaseUrl && cfg.redisUrl && cfg.s3 && cfg.kafkaBrokers, 'Postgres, Redis, S3 and Kafka are all configured');
    assert.equal(cfg.webhooks.secretKey?.length, 32);
    assert.equal(cfg.trustProxy, 1, 'behind nginx, the client address comes from the one proxy hop');
  });

  it('nginx balances HTTP and RTMP over the compose API services, which share the upload volume', () => {
    const compose = read('docker-compose.yml');
    const nginx = read('deploy/nginx.conf');
    const cfg = loadConfig({});
    for (const api of ['api1', 'api2']) {
      assert.match(compose, new RegExp(`^ {2}${api}:`, 'm'));
      assert.ok(nginx.includes(`server ${api}:${cfg.port};`), `${api} HTTP upstream`);
      assert.ok(nginx.includes(`server ${api}:${cfg.rtmpPort};`), `${api} RTMP upstream`);
    }
    assert.match(compose, /command: \["serve", "--no-worker"\]/);
    assert.match(compose, /command: \["worker", "--concurrency", "1"\]/);
    assert.match(compose, /volumes: \["uploads:\/uploads"\]/);
    assert.match(read('Dockerfile'), /ENTRYPOINT \["tini", "--", "node", "dist\/cli\.js"\]/);
    assert.ok(fs.existsSync(path.join(ROOT, 'src/cli.ts')));
  });
});
