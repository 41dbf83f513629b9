// Signed playback tokens for private videos: `<expiry unix seconds>.<HMAC-SHA256>` over the video id
// and the expiry, so a token opens one video's media until it expires and cannot be altered or
// moved to another video. The key lives in the database (created once, on first use), so every
// node signs and checks with the same one without any setting.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../infra/db/database.js';

export type TokenCheck = { ok: true; expiresAt: number } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

interface PlaybackKeyTable {
  id: string;
  secret: string;
  created_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    video_playback_keys: PlaybackKeyTable;
  }
}

const KEY_ID = 'default';

export class PlaybackTokens {
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly db: Db,
    readonly ttlSeconds: number,
  ) {}

  private secret(): Promise<Buffer> {
    this.key ??= this.loadKey().catch((err) => {
      this.key = null;
      throw err;
    });
    return this.key;
  }

  private async loadKey(): Promise<Buffer> {
    const k = this.db.kysely;
    const read = () => k.selectFrom('video_playback_keys').select('secret').where('id', '=', KEY_ID).executeTakeFirst();
    let row = await read();
    if (!row) {
      // Nodes starting together may race: the first insert wins and everyone reads that one.
      await k
        .insertInto('video_playback_keys')
        .values({ id: KEY_ID, secret: randomBytes(32).toString('base64url'), created_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      row = await read();
    }
    return Buffer.from(row!.secret, 'base64url');
  }

  private mac(key: Buffer, videoId: string, exp: number): Buffer {
    return createHmac('sha256', key).update(`${videoId}.${exp}`).digest();
  }

  async sign(videoId: string, nowMs = Date.now()): Promise<string> {
    const exp = Math.floor(nowMs / 1000) + this.ttlSeconds;
    return `${exp}.${this.mac(await this.secret(), videoId, exp).toString('base64url')}`;
  }

  async verify(videoId: string, token: string | undefined, nowMs = Date.now()): Promise<TokenCheck> {
    if (!token) return { ok: false, reason: 'missing' };
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return { ok: false, reason: 'invalid' };
    const exp = Number(m[1]);
    // Compared as text: base64url's last character carries two spare bits that decoding ignores, so
    // comparing decoded bytes would accept several spellings of one token.
    const given = Buffer.from(m[2], 'ascii');
    const expected = Buffer.from(this.mac(await this.secret(), videoId, exp).toString('base64url'), 'ascii');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
    return { ok: true, expiresAt: exp * 1000 };
  }
}

/**
 * A playlist whose child URIs (media playlists, segments, init sections, keys) all carry `token`,
 * so a player that only knows the signed master URL can fetch everything under it.
 */
export function signPlaylist(text: string, token: string): string {
  const add = (uri: string): string => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) return uri;
    return `${uri}${uri.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  };
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      if (!trimmed.startsWith('#')) return add(trimmed);
      return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${add(uri)}"`);
    })
    .join('\n');
}
