// Password hashing with scrypt (memory-hard, in Node's crypto: no native addon to build).
// Stored as scrypt$N$r$p$salt$hash, so the cost can be raised: a hash made with other parameters
// still verifies, and is replaced on the owner's next successful login (`needsRehash`).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** OWASP's recommendation for scrypt (2024): N=2^17, r=8, p=1, i.e. 128 MiB per hash. */
export const DEFAULT_SCRYPT_LOG_N = 17;
const R = 8;
const P = 1;
const KEYLEN = 32;
/** Largest N a stored hash may ask for: a tampered row cannot make a login allocate gigabytes. */
const MAX_LOG_N = 20;
/**
 * Hashes run at most two at a time: each takes 128*N*r bytes (128 MiB at the default), and logins
 * are open to strangers, so the memory they can make the process reserve stays bounded.
 */
const MAX_CONCURRENT = 2;

let running = 0;
const waiting: Array<() => void> = [];

async function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions & { N: number; r: number }): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    const maxmem = 128 * opts.N * opts.r + 16 * 1024 * 1024;
    return await new Promise((resolve, reject) => scryptCb(password, salt, keylen, { ...opts, maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** True when `stored` was made with other parameters than today's: hash the password again. */
  needsRehash(stored: string): boolean;
  /** A hash to compare against when the user does not exist, so timing does not reveal usernames. */
  readonly dummyHash: string;
}

export function createPasswordHasher(logN = DEFAULT_SCRYPT_LOG_N): PasswordHasher {
  const N = 2 ** logN;
  const prefix = `scrypt$${N}$${R}$${P}$`;
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await scrypt(password, salt, KEYLEN, { N, r: R, p: P });
      return `${prefix}${salt.toString('base64url')}$${key.toString('base64url')}`;
    },
    verify: verifyPassword,
    needsRehash: (stored) => !stored.startsWith(prefix),
    dummyHash: `${prefix}${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEYLEN).toString('base64url')}`,
  };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const [N, rr, pp] = [Number(n), Number(r), Number(p)];
  if (!Number.isInteger(N) || N < 2 || N > 2 ** MAX_LOG_N || (N & (N - 1)) !== 0) return false;
  if (!Number.isInteger(rr) || rr < 1 || rr > 32 || !Number.isInteger(pp) || pp < 1 || pp > 16) return false;
  const expected = Buffer.from(keyB64, 'base64url');
  if (expected.length < 16 || expected.length > 64) return false;
  const key = await scrypt(password, Buffer.from(saltB64, 'base64url'), expected.length, { N, r: rr, p: pp });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
