// A per-node cache of bearer-token lookups, so a signed-in request does not query the database each
// time. Keyed by the token's sha256 (the form the database stores), never the token itself. Entries
// live a few seconds at most (SESSION_CACHE_SECONDS) and are dropped at once on sign-out, disable or
// role change, here and, through SessionRevocations, on every other node.
import type { AuthUser } from './accounts.service.js';

interface Entry {
  user: AuthUser;
  /** Epoch milliseconds after which the entry is not used (cache lifetime or token expiry, sooner). */
  until: number;
}

/** A revocation: one token (by hash) or every token of one user. */
export type Revocation = { token_hash: string } | { user_id: string };

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  /** Bumped by every revocation: a lookup that started before one does not store its answer. */
  private epoch = 0;
  /** False while revocations from other nodes may be missed (Redis subscription down): nothing is cached. */
  private live = true;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.live;
  }

  /** The revocation epoch to pass to set(), read before the database is asked. */
  get version(): number {
    return this.epoch;
  }

  get(tokenHash: string, now = Date.now()): AuthUser | undefined {
    const e = this.entries.get(tokenHash);
    if (!e) return undefined;
    if (e.until > now) return e.user;
    this.drop(tokenHash, e.user.id);
    return undefined;
  }

  /** Stores a lookup's answer unless a revocation happened since `version` was read. */
  set(tokenHash: string, user: AuthUser, expiresAtMs: number, version: number, now = Date.now()): void {
    if (!this.enabled || version !== this.epoch) return;
    if (this.entries.size >= this.maxEntries) {
      // Full: drop from the oldest end (insertion order is nearly expiry order, as every entry lives
      // the same time) what expired, or else the oldest one.
      let dropped = 0;
      for (const [h, e] of this.entries) {
        if (e.until > now && dropped > 0) break;
        this.drop(h, e.user.id);
        dropped++;
      }
    }
    this.entries.set(tokenHash, { user, until: Math.min(now + this.ttlMs, expiresAtMs) });
    let hashes = this.byUser.get(user.id);
    if (!hashes) this.byUser.set(user.id, (hashes = new Set()));
    hashes.add(tokenHash);
  }

  revoke(r: Revocation): void {
    this.epoch++;
    if ('token_hash' in r) {
      const e = this.entries.get(r.token_hash);
      if (e) this.drop(r.token_hash, e.user.id);
      return;
    }
    for (const h of this.byUser.get(r.user_id) ?? []) this.entries.delete(h);
    this.byUser.delete(r.user_id);
  }

  /** Turns caching off and empties the cache (revocations may be missed), or back on. */
  setLive(live: boolean): void {
    if (!live) this.clear();
    this.live = live;
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.byUser.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(tokenHash: string, userId: string): void {
    this.entries.delete(tokenHash);
    const hashes = this.byUser.get(userId);
    hashes?.delete(tokenHash);
    if (hashes?.size === 0) this.byUser.delete(userId);
  }
}
