// Local-filesystem object storage under one root (default ./data/objects). Writes go to a temp
// file then rename, so a reader never sees half an object.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { ObjectNotFoundError, assertKey, assertPrefix, contentTypeFor, type Body, type ByteRange, type ObjectInfo, type ObjectStorage } from './storage.js';

export class LocalStorage implements ObjectStorage {
  readonly kind = 'local' as const;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    fs.mkdirSync(this.root, { recursive: true });
  }

  /** Maps a validated key to a path, and checks again that it stays under the root. */
  private file(key: string): string {
    assertKey(key);
    const p = path.resolve(this.root, key);
    if (!p.startsWith(this.root + path.sep)) throw new ObjectNotFoundError();
    return p;
  }

  private async writeAtomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const dest = this.file(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    try {
      await write(tmp);
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async put(key: string, body: Body): Promise<void> {
    await this.writeAtomically(key, async (tmp) => {
      if (typeof body === 'string' || Buffer.isBuffer(body)) await fsp.writeFile(tmp, body);
      else await pipeline(body, fs.createWriteStream(tmp));
    });
  }

  async putFile(key: string, filePath: string): Promise<void> {
    await this.writeAtomically(key, (tmp) => fsp.copyFile(filePath, tmp));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const p = this.file(key);
    const handle = await fsp.open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR') throw new ObjectNotFoundError();
      throw err;
    });
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError();
    }
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async getBuffer(key: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError();
      throw err;
    }
  }

  async download(key: string, filePath: string): Promise<void> {
    await pipeline(await this.get(key), fs.createWriteStream(filePath));
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await fsp.stat(this.file(key));
      if (!s.isFile()) return null;
      return { size: s.size, contentType: contentTypeFor(key), lastModified: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.file(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') assertPrefix(prefix);
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.endsWith('.tmp')) {
          const key = path.relative(this.root, full).split(path.sep).join('/');
          if (key.startsWith(prefix)) out.push(key);
        }
      }
    };
    // Start from the deepest directory the prefix names, to avoid walking the whole root.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? path.join(this.root, dirPart) : this.root);
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    await Promise.all(keys.map((k) => this.delete(k)));
    // Remove directories left empty under the prefix.
    if (prefix.endsWith('/')) await fsp.rm(this.file(`${prefix}x`).slice(0, -2), { recursive: true, force: true });
    return keys.length;
  }

  async presignedUrl(): Promise<string | null> {
    return null;
  }

  async ping(): Promise<void> {
    const probe = path.join(this.root, `.ping-${randomUUID()}`);
    await fsp.writeFile(probe, 'ok');
    await fsp.rm(probe, { force: true });
  }

  localPath(key: string): string {
    return this.file(key);
  }
}

export function toReadable(body: Body): Readable {
  return typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([body]) : body;
}
