// S3Proxy, an S3 API server in Java with complete multipart uploads (ListParts included, which
// s3rver lacks and @tus/s3-store needs to resume), started from its Maven Central jars: Maven
// resolves them once into ~/.m2, the classpath is cached under node_modules/.cache. Outside CI a
// machine without Java or Maven skips the suite with one line; in CI it must run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IS_CI, reachable } from './env.js';
import { freePort } from './processes.js';
import type { TestS3 } from './s3.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = '2.6.0';
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'nova-s3proxy', VERSION);
const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>nova.test</groupId><artifactId>s3proxy-runner</artifactId><version>1</version>
<dependencies><dependency><groupId>org.gaul</groupId><artifactId>s3proxy</artifactId><version>${VERSION}</version></dependency></dependencies></project>
`;

const has = (bin: string) => spawnSync(bin, ['-version'], { stdio: 'ignore' }).error === undefined;

/** A reason to skip when Java or Maven is missing (outside CI); throws in CI. */
export function s3proxySkipReason(): string | false {
  if (has('java') && has('mvn')) return false;
  if (IS_CI) throw new Error('Java and Maven are required in CI (S3Proxy)');
  const reason = 'no java/mvn on PATH: S3Proxy suite skipped';
  console.log(`# skip: ${reason}`);
  return reason;
}

function classpath(): string {
  const file = path.join(CACHE, 'classpath.txt');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(CACHE, { recursive: true });
  fs.writeFileSync(path.join(CACHE, 'pom.xml'), POM);
  const tmp = `${file}.${process.pid}`;
  const res = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`], { cwd: CACHE, encoding: 'utf8', timeout: 600_000 });
  if (res.status !== 0 || !fs.existsSync(tmp)) throw new Error(`mvn could not resolve org.gaul:s3proxy:${VERSION}: ${(res.stdout + res.stderr).slice(-2000)}`);
  fs.renameSync(tmp, file);
  return fs.readFileSync(file, 'utf8').trim();
}

/** Starts S3Proxy (in-memory store) on a free port with one bucket; stop() ends the JVM. */
export async function startS3Proxy(bucket = 'nova-test'): Promise<TestS3> {
  const cp = classpath();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-s3proxy-'));
  const props = path.join(dir, 's3proxy.properties');
  const endpoint = `http://127.0.0.1:${port}`;
  fs.writeFileSync(
    props,
    [
      `s3proxy.endpoint=${endpoint}`,
      's3proxy.authorization=aws-v2-or-v4',
      's3proxy.identity=nova',
      's3proxy.credential=nova-secret-key',
      'jclouds.provider=transient-nio2',
      'jclouds.identity=nova',
      'jclouds.credential=nova',
      '',
    ].join('\n'),
  );
  const child = spawn('java', ['-Xmx256m', '-cp', cp, 'org.gaul.s3proxy.Main', '--properties', props], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!(await reachable('127.0.0.1', port, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`S3Proxy did not start on ${endpoint}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const env = { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: 'nova', S3_SECRET_ACCESS_KEY: 'nova-secret-key' };
  // The bucket, through the same S3 API Nova uses.
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'nova', secretAccessKey: 'nova-secret-key' } });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return {
    endpoint,
    bucket,
    env,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
