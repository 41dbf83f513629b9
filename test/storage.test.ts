// One storage contract, run against the local adapter and against S3 (a real s3rver started here).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { randomBytes, createHash } from 'node:crypto';
import { LocalStorage } from '../src/infra/storage/local.storage.js';
import { S3Storage } from '../src/infra/storage/s3.storage.js';
import { ObjectNotFoundError, StorageUnavailableError, type ObjectStorage } from '../src/infra/storage/storage.js';
import { toAppError, type AppError } from '../src/http/errors.js';
import { startS3, type TestS3 } from './helpers/s3.js';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function contract(name: string, make: () => Promise<{ storage: ObjectStorage; cleanup: () => Promise<void> }>) {
  describe(`storage (${name})`, () => {
    let storage: ObjectStorage;
    let cleanup: () => Promise<void>;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-st-'));
    before(async () => ({ storage, cleanup } = await make()));
    after(async () => {
      await cleanup();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('puts, stats, reads whole and by range, lists and deletes', async () => {
      await storage.put('videos/a/master.m3u8', '#EXTM3U\n');
      await storage.put('videos/a/seg_0.ts', Buffer.from('0123456789'));
      await storage.put('videos/b/x.jpg', Readable.from([Buffer.from('jpeg')]));
      assert.equal((await storage.getBuffer('videos/a/master.m3u8')).toString(), '#EXTM3U\n');
      assert.equal((await storage.stat('videos/a/seg_0.ts'))?.size, 10);
      assert.equal(await storage.stat('videos/a/missing.ts'), null);
      assert.equal((await readAll(await storage.get('videos/a/seg_0.ts', { start: 2, end: 5 }))).toString(), '2345');
      assert.deepEqual(await storage.list('videos/a/'), ['videos/a/master.m3u8', 'videos/a/seg_0.ts']);
      assert.equal(await storage.deletePrefix('videos/a/'), 2);
      assert.deepEqual(await storage.list('videos/a/'), []);
      assert.deepEqual(await storage.list('videos/'), ['videos/b/x.jpg']);
      await storage.delete('videos/b/x.jpg');
      await assert.rejects(storage.get('videos/b/x.jpg'), (e: Error & { status?: number }) => e.status === 404);
    });

    it('round-trips a large file (multipart on S3) byte for byte', async () => {
      const src = path.join(tmp, 'big.bin');
      const data = randomBytes(20 * 1024 * 1024 + 123);
      fs.writeFileSync(src, data);
      await storage.putFile('sources/big.bin', src);
      const dst = path.join(tmp, 'back.bin');
      await storage.download('sources/big.bin', dst);
      const h = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      assert.equal(h(fs.readFileSync(dst)), h(data));
      await storage.delete('sources/big.bin');
    });

    it('refuses keys that could escape the root', async () => {
      for (const key of ['../../etc/passwd', '/etc/passwd', 'a/../../b', 'a\\b', '', 'a//b', './x', 'a/\u0000']) {
        await assert.rejects(storage.put(key, 'x'), (e: Error & { status?: number }) => e.status === 400, key);
        await assert.rejects(storage.get(key), (e: Error & { status?: number }) => e.status === 400, key);
      }
      assert.ok(!fs.existsSync(path.join(tmp, 'passwd')));
    });

    it('answers ping', async () => {
      await storage.ping();
    });
  });
}

contract('local', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-objects-'));
  return { storage: new LocalStorage(dir), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

let s3: TestS3;
contract('s3', async () => {
  s3 = await startS3();
  const storage = new S3Storage({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  return { storage, cleanup: () => s3.stop() };
});

describe('storage (s3) when the server fails', () => {
  it('a missing object is ObjectNotFoundError (404); a server that drops every connection is StorageUnavailableError (503 with Retry-After)', async () => {
    // A server that accepts and then closes every connection without answering.
    const dropper = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const { port } = dropper.address() as net.AddressInfo;
    const s3 = await startS3();
    try {
      const ok = new S3Storage({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
      await assert.rejects(ok.getBuffer('live/x/hls/480p/index.m3u8'), ObjectNotFoundError);
      assert.equal(await ok.stat('live/x/hls/480p/gone.ts'), null);
      const broken = new S3Storage({ endpoint: `http://127.0.0.1:${port}`, bucket: 'b', region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true });
      for (const read of [() => broken.getBuffer('live/x/hls/480p/index.m3u8'), () => broken.get('live/x/hls/480p/a.ts'), () => broken.stat('live/x/hls/480p/a.ts')]) {
        const err = await read().then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof StorageUnavailableError, String(err));
        assert.equal(err.status, 503);
        const mapped = toAppError(err) as AppError;
        assert.equal(mapped.status, 503);
        assert.equal(mapped.headers?.['retry-after'], '1');
      }
    } finally {
      await s3.stop();
      await new Promise((resolve) => dropper.close(resolve));
    }
  });
});
