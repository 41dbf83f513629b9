// Signing secrets: generated here, kept encrypted at rest (AES-256-GCM), and used to sign
// deliveries. Nova must keep the raw secret to sign, so a hash would not do; encryption means a
// database dump alone does not reveal them. The key is WEBHOOKS_SECRET_KEY, or on the embedded
// SQLite setup a key file created in DATA_DIR. Without either (Postgres and no key) secrets are
// stored as they are and a warning says so at start.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';

export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The Nova-Signature header value: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` per secret. */
export function signatureHeader(secrets: string[], timestamp: number, body: string): string {
  const parts = [`t=${timestamp}`];
  for (const s of secrets) parts.push(`v1=${createHmac('sha256', s).update(`${timestamp}.${body}`).digest('hex')}`);
  return parts.join(',');
}

export class SecretBox {
  private constructor(private readonly key: Buffer | null) {}

  static fromConfig(config: Config, logger: Logger): SecretBox {
    if (config.webhooks.secretKey) return new SecretBox(config.webhooks.secretKey);
    if (!config.databaseUrl) return new SecretBox(loadOrCreateKeyFile(path.join(config.dataDir, 'webhooks.key')));
    logger.warn('WEBHOOKS_SECRET_KEY is not set: webhook signing secrets are stored unencrypted in the database');
    return new SecretBox(null);
  }

  /** For tests and tools that hold a key directly. */
  static withKey(key: Buffer | null): SecretBox {
    return new SecretBox(key);
  }

  seal(secret: string): string {
    if (!this.key) return `plain.${secret}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain.')) return sealed.slice('plain.'.length);
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unknown sealed-secret format');
    if (!this.key) throw new Error('a webhook secret is encrypted but no WEBHOOKS_SECRET_KEY is configured');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}

function loadOrCreateKeyFile(file: string): Buffer {
  try {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length === 32) return key;
    throw new Error(`${file} does not hold a 32-byte hex key`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  try {
    // 'wx': if another process created it first, use theirs.
    fs.writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
  }
}
