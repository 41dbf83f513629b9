// The model repository on disk, laid out like Triton's: MODELS_DIR/<name>/<version>/model.onnx with
// an optional metadata.json beside it. Also the one place that decides which files an admin may
// ask Nova to read: only under MODELS_DIR or a directory listed in MODELS_ALLOWED_PATHS.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ForbiddenError, NotFoundError, PayloadTooLargeError, UnprocessableError, ValidationError } from '../http/errors.js';
import type { Signature } from './models.signature.js';

export const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const VERSION_DIR = /^[1-9]\d{0,8}$/;
export const MODEL_FILE = 'model.onnx';

/** Optional metadata.json: a declared signature and a warm-up sample with its expected outputs. */
export interface ModelMetadata {
  signature?: Signature;
  warmup?: {
    inputs: Record<string, { dims: number[]; data: unknown[] }>;
    outputs?: Record<string, { dims: number[]; data: number[] }>;
    tolerance?: number;
  };
  [key: string]: unknown;
}

export interface ResolvedFile {
  file: string;
  /** Set when the file sits at MODELS_DIR/<name>/<version>/model.onnx. */
  name?: string;
  version?: number;
}

function within(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export class ModelRepository {
  constructor(readonly root: string, private readonly allowed: string[], private readonly maxBytes: number) {}

  /** Every model name with the versions that have a model file, versions ascending. */
  async scan(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    let names: string[];
    try {
      names = await fs.readdir(this.root);
    } catch {
      return out;
    }
    for (const name of names.sort()) {
      if (!MODEL_NAME.test(name)) continue;
      const versions = await this.versions(name);
      if (versions.length) out.set(name, versions);
    }
    return out;
  }

  async versions(name: string): Promise<number[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(path.join(this.root, name));
    } catch {
      return [];
    }
    const found: number[] = [];
    for (const e of entries) if (VERSION_DIR.test(e) && (await exists(this.fileFor(name, Number(e))))) found.push(Number(e));
    return found.sort((a, b) => a - b);
  }

  fileFor(name: string, version: number): string {
    return path.join(this.root, name, String(version), MODEL_FILE);
  }

  /** The file of a version in the repository, or 404. */
  async versionFile(name: string, version: number): Promise<ResolvedFile> {
    const file = this.fileFor(name, version);
    if (!(await exists(file))) throw new NotFoundError(`Model "${name}" has no version ${version} in the model repository.`);
    await this.checkFile(file);
    return { file, name, version };
  }

  private roots(): string[] {
    return [this.root, ...this.allowed];
  }

  /**
   * Resolves an admin-given path (relative ones against MODELS_DIR). The lexical path must be inside
   * an allowed root before anything is read, and so must its real path (no symlink escapes).
   */
  async resolvePath(given: string): Promise<ResolvedFile> {
    if (given.includes('\0')) throw new ValidationError('path must not contain NUL bytes.', [{ field: 'path', message: 'contains NUL' }]);
    const lexical = path.resolve(this.root, given);
    const outside = (): ForbiddenError => new ForbiddenError('path must be inside MODELS_DIR or a directory listed in MODELS_ALLOWED_PATHS.');
    if (!this.roots().some((r) => within(lexical, r))) throw outside();
    let real: string;
    try {
      real = await fs.realpath(lexical);
    } catch {
      throw new NotFoundError(`No model file at "${given}".`);
    }
    const realRoots = await Promise.all(this.roots().map((r) => fs.realpath(r).catch(() => r)));
    if (!realRoots.some((r) => within(real, r))) throw outside();
    await this.checkFile(real);
    const rel = path.relative(realRoots[0], real).split(path.sep);
    if (rel.length === 3 && MODEL_NAME.test(rel[0]) && VERSION_DIR.test(rel[1]) && rel[2] === MODEL_FILE && !rel[0].startsWith('..')) {
      return { file: real, name: rel[0], version: Number(rel[1]) };
    }
    return { file: real };
  }

  private async checkFile(file: string): Promise<void> {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new UnprocessableError('The model path is not a regular file.');
    if (st.size > this.maxBytes) throw new PayloadTooLargeError(`The model file is ${st.size} bytes; MODEL_MAX_FILE_BYTES allows ${this.maxBytes}.`);
  }

  /** metadata.json beside a model file, if any. A malformed one refuses the load (422). */
  async metadata(file: string): Promise<ModelMetadata | null> {
    const p = path.join(path.dirname(file), 'metadata.json');
    let text: string;
    try {
      const st = await fs.stat(p);
      if (st.size > 16 * 1024 * 1024) throw new UnprocessableError('metadata.json is larger than 16 MiB.');
      text = await fs.readFile(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UnprocessableError('metadata.json beside the model is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UnprocessableError('metadata.json must hold a JSON object.');
    return parsed as ModelMetadata;
  }

  /** How the file is shown in API responses: relative to MODELS_DIR when inside it. */
  display(file: string): string {
    return within(file, this.root) ? path.relative(this.root, file) : file;
  }

  isInRepository(file: string): boolean {
    return within(file, this.root);
  }
}
