// Accounts: registration, login with rate limits, opaque bearer tokens, roles.
// Tokens are random 256-bit strings; only their sha256 is stored, so a database leak yields no
// usable token. Lookups are cached per node for a few seconds (sessions.cache.ts); every change that
// ends a token or alters its user goes through revoke(), which drops the entries on every node.
import { hash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { isUniqueViolation, type Executor } from '../infra/db/database.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, UnauthorizedError } from '../http/errors.js';
import type { RateLimiter } from '../shared/rate-limiter.js';
import { AccountsRepository, type InviteRow, type UserRow } from './accounts.repository.js';
import { createPasswordHasher, type PasswordHasher } from './passwords.js';
import { SessionCache, type Revocation } from './sessions.cache.js';
import { LocalSessionRevocations, type SessionRevocations } from './sessions.revocations.js';

/** How long an address that signed in to an account stays exempt from that account's failure limit. */
const KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600;

export type Role = 'user' | 'admin';

/** Who may create an account: anyone, nobody (but the first admin), or holders of an invite code. */
export type RegistrationMode = 'open' | 'closed' | 'invite_only';

/** A user as admins see it. */
export interface AdminUserView {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  disabled_at: string | null;
  created_at: string;
}

export interface InviteView {
  code: string;
  max_uses: number;
  uses: number;
  created_at: string;
  expires_at: string | null;
}

/** Invite codes are random (96 bits); they are the only thing between a stranger and an account. */
const INVITE_PATTERN = /^inv_[A-Za-z0-9_-]{16}$/;

export interface AuthUser {
  id: string;
  username: string;
  role: Role;
}

export interface AccountsOptions {
  admin?: string;
  tokenTtlSeconds: number;
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  /** Accounts per address per window; 0: no limit. */
  registerMaxPerAddress: number;
  registerWindowSeconds: number;
  /** The instance's registration mode (an instance setting); open when not given. */
  registrationMode?: () => Promise<RegistrationMode>;
}

export function hashToken(token: string): string {
  // The one-shot form: every signed-in request hashes its token, and a Hash object costs more.
  return hash('sha256', token, 'hex');
}

/** The session cache and how its revocations reach every node; by default none (every lookup asks the database). */
export interface SessionCaching {
  cache: SessionCache;
  revocations: SessionRevocations;
}

export class AccountsService {
  private readonly disabledListeners = new Set<(userId: string) => Promise<void>>();
  private readonly sessions: SessionCaching;

  constructor(
    private readonly repo: AccountsRepository,
    private readonly limiter: RateLimiter,
    private readonly opts: AccountsOptions,
    private readonly passwords: PasswordHasher = createPasswordHasher(),
    sessions?: SessionCaching,
  ) {
    const cache = sessions?.cache ?? new SessionCache(0);
    this.sessions = sessions ?? { cache, revocations: new LocalSessionRevocations(cache) };
  }

  private toAuthUser(u: Pick<UserRow, 'id' | 'username' | 'role'>): AuthUser {
    const admin = u.role === 'admin' || (this.opts.admin !== undefined && u.username.toLowerCase() === this.opts.admin.toLowerCase());
    return { id: u.id, username: u.username, role: admin ? 'admin' : 'user' };
  }

  async register(username: string, password: string, ip: string, inviteCode?: string): Promise<{ user: AuthUser; token: string }> {
    const { registerMaxPerAddress: max, registerWindowSeconds: win } = this.opts;
    if (max > 0) {
      // Before the password is hashed: scrypt is deliberately expensive.
      const byIp = await this.limiter.hit(`register:ip:${ip}`, max, win);
      if (!byIp.allowed) throw new RateLimitedError('Too many accounts created from this address; try again later.', byIp.retryAfterSeconds);
    }
    const id = uuidv7();
    const now = new Date().toISOString();
    // Also before hashing: a closed instance, or a missing or spent invite, costs one lookup.
    const invite = await this.admission(inviteCode, now);
    try {
      const user = { id, username, username_lower: username.toLowerCase(), password_hash: await this.passwords.hash(password), role: 'user', created_at: now };
      if (invite === null) await this.repo.insertUser(user);
      else if (!(await this.repo.insertUserWithInvite(user, invite, now))) throw new ForbiddenError('This invite code has been used up or has expired.');
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`The username "${username}" is taken.`);
      throw err;
    }
    // The instance's first account is its admin. Decided after insert so two racing first
    // registrations still agree on one admin (the earliest row).
    let role: Role = 'user';
    if ((await this.repo.firstUserId()) === id) {
      await this.repo.setRole(id, 'admin');
      role = 'admin';
    }
    const user = this.toAuthUser({ id, username, role });
    return { user, token: await this.issueToken(id) };
  }

  /**
   * Whether registration is open to this caller: null to insert freely, or the invite code whose
   * use admits them. The instance's very first account is always admitted (it becomes the admin).
   */
  private async admission(inviteCode: string | undefined, nowIso: string): Promise<string | null> {
    const mode = (await this.opts.registrationMode?.()) ?? 'open';
    if (mode === 'open') return null;
    if ((await this.repo.firstUserId()) === undefined) return null;
    if (mode === 'closed') throw new ForbiddenError('Registration is closed on this instance; ask its admin for an account.');
    if (!inviteCode) throw new ForbiddenError('Registration on this instance needs an invite code (invite_code); ask its admin for one.');
    const invite = INVITE_PATTERN.test(inviteCode) ? await this.repo.findInvite(inviteCode) : undefined;
    if (!invite) throw new ForbiddenError('This invite code is not valid.');
    if (invite.uses >= invite.max_uses || (invite.expires_at !== null && invite.expires_at <= nowIso)) throw new ForbiddenError('This invite code has been used up or has expired.');
    return invite.code;
  }

  async login(username: string, password: string, ip: string): Promise<{ user: AuthUser; token: string }> {
    const { loginMaxAttempts: max, loginWindowSeconds: win } = this.opts;
    const name = username.toLowerCase();
    // Guessing one account from one address stops after `max` attempts, and one address guessing
    // many accounts after 5×. Keying the tight limit on the address too means a stranger's failed
    // attempts cannot lock the owner out.
    const hits = await Promise.all([this.limiter.hit(`login:user-ip:${name}:${ip}`, max, win), this.limiter.hit(`login:ip:${ip}`, max * 5, win)]);
    const refused = hits.filter((h) => !h.allowed);
    if (refused.length > 0) {
      throw new RateLimitedError('Too many login attempts; try again later.', Math.max(...refused.map((h) => h.retryAfterSeconds)));
    }
    // Many addresses guessing one account stop after 20× failures, except for an address that has
    // signed in to it lately: so a distributed guess cannot lock the owner out either. (Checked
    // before and counted after, so a burst may pass the bound by the attempts in flight.)
    const userKey = `login:user:${name}`;
    const known = (await this.limiter.peek(`login:known:${name}:${ip}`)) > 0;
    if (!known && (await this.limiter.peek(userKey)) >= max * 20) {
      throw new RateLimitedError('Too many failed logins to this account; try again later, or from an address that signed in to it before.', win);
    }
    const row = await this.repo.findByUsername(username);
    const ok = await this.passwords.verify(password, row?.password_hash ?? this.passwords.dummyHash);
    if (!row || !ok) {
      await this.limiter.hit(userKey, max * 20, win);
      throw new UnauthorizedError('Wrong username or password.');
    }
    // Told only to whoever knows the password: a disabled account is no secret to its owner.
    if (row.disabled_at) throw new ForbiddenError('This account has been disabled by an admin of this instance.');
    // Only now is the password known: a hash made with an older cost is replaced by today's.
    if (this.passwords.needsRehash(row.password_hash)) {
      await this.repo.setPasswordHash(row.id, row.password_hash, await this.passwords.hash(password));
    }
    await this.limiter.reset(`login:user-ip:${name}:${ip}`);
    await this.limiter.hit(`login:known:${name}:${ip}`, 1, KNOWN_ADDRESS_SECONDS);
    return { user: this.toAuthUser(row), token: await this.issueToken(row.id) };
  }

  async logout(token: string): Promise<void> {
    const tokenHash = hashToken(token);
    await this.repo.deleteSession(tokenHash);
    await this.revoke({ token_hash: tokenHash });
  }

  /**
   * Drops cached lookups of a token, or of every token of a user, on every node. Called after the
   * database change, so a lookup that starts later reads the new state.
   */
  private async revoke(r: Revocation): Promise<void> {
    await this.sessions.revocations.revoke(r);
  }

  private async issueToken(userId: string): Promise<string> {
    const token = `nova_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    await this.repo.insertSession({
      token_hash: hashToken(token),
      user_id: userId,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + this.opts.tokenTtlSeconds * 1000).toISOString(),
    });
    return token;
  }

  /** Whether token lookups are being cached right now (off with SESSION_CACHE_SECONDS=0, or while revocations could be missed). */
  get sessionCacheActive(): boolean {
    return this.sessions.cache.enabled;
  }

  /** Resolves a bearer token to its user, or null when unknown or expired. */
  async authenticate(token: string): Promise<AuthUser | null> {
    if (!token || token.length > 200) return null;
    const tokenHash = hashToken(token);
    const { cache } = this.sessions;
    const cached = cache.enabled ? cache.get(tokenHash) : undefined;
    if (cached) return cached;
    const version = cache.version;
    const s = await this.repo.findSession(tokenHash);
    if (!s || s.expires_at < new Date().toISOString() || s.disabled_at) return null;
    const user = this.toAuthUser({ id: s.user_id, username: s.username, role: s.role });
    // Only valid answers are kept: an unknown token asks the database again next time.
    cache.set(tokenHash, user, Date.parse(s.expires_at), version);
    return user;
  }

  /** True when the account exists and an admin has not disabled it (live ingest asks). */
  async isActive(id: string): Promise<boolean> {
    const u = await this.repo.findById(id);
    return u !== undefined && u.disabled_at === null;
  }

  // ---- administration (callers check that an admin asks) -----------------------------------

  /** Called in this process when an admin disables an account (live ends its broadcasts). */
  onUserDisabled(listener: (userId: string) => Promise<void>): () => void {
    this.disabledListeners.add(listener);
    return () => this.disabledListeners.delete(listener);
  }

  private adminView(u: UserRow): AdminUserView {
    return { ...this.toAuthUser(u), disabled: u.disabled_at !== null, disabled_at: u.disabled_at, created_at: u.created_at };
  }

  async listUsers(query: string | undefined, limit: number, offset: number): Promise<{ items: AdminUserView[]; total: number }> {
    const { rows, total } = await this.repo.listUsers({ query: query?.trim() || undefined, limit, offset });
    return { items: rows.map((u) => this.adminView(u)), total };
  }

  /**
   * Disables or enables an account. Disabling ends every session at once (and the token check
   * refuses the account besides, so a token issued in a race is refused too). An admin cannot
   * disable or demote themself: an instance never loses its last admin that way.
   */
  async updateUser(actor: AuthUser, id: string, patch: { disabled?: boolean; role?: Role }): Promise<AdminUserView> {
    const u = await this.repo.findById(id);
    if (!u) throw new NotFoundError(`No user ${id}.`);
    if (id === actor.id && (patch.disabled === true || patch.role === 'user')) {
      throw new ConflictError('You cannot disable your own account or take away your own admin role; ask another admin.');
    }
    if (patch.role !== undefined && patch.role !== u.role) {
      await this.repo.setRole(id, patch.role);
      // Cached lookups carry the role.
      await this.revoke({ user_id: id });
    }
    if (patch.disabled === true && u.disabled_at === null) {
      await this.repo.setDisabled(id, new Date().toISOString());
      await this.repo.deleteSessionsOf(id);
      await this.revoke({ user_id: id });
      await Promise.all([...this.disabledListeners].map((l) => l(id)));
    } else if (patch.disabled === false && u.disabled_at !== null) {
      await this.repo.setDisabled(id, null);
    }
    const after = await this.repo.findById(id);
    if (!after) throw new NotFoundError(`No user ${id}.`);
    return this.adminView(after);
  }

  private inviteView(i: InviteRow): InviteView {
    return { code: i.code, max_uses: i.max_uses, uses: i.uses, created_at: i.created_at, expires_at: i.expires_at };
  }

  async createInvite(actor: AuthUser, maxUses: number, expiresInDays: number | undefined): Promise<InviteView> {
    const now = Date.now();
    const row: InviteRow = {
      code: `inv_${randomBytes(12).toString('base64url')}`,
      created_by: actor.id,
      max_uses: maxUses,
      uses: 0,
      created_at: new Date(now).toISOString(),
      expires_at: expiresInDays === undefined ? null : new Date(now + expiresInDays * 86_400_000).toISOString(),
    };
    await this.repo.insertInvite(row);
    return this.inviteView(row);
  }

  async listInvites(limit: number): Promise<InviteView[]> {
    return (await this.repo.listInvites(limit)).map((i) => this.inviteView(i));
  }

  async deleteInvite(code: string): Promise<void> {
    if (!(await this.repo.deleteInvite(code))) throw new NotFoundError(`No invite ${code}.`);
  }

  async getUser(id: string): Promise<AuthUser | null> {
    const u = await this.repo.findById(id);
    return u ? this.toAuthUser(u) : null;
  }

  /**
   * Serialises work per user: until `trx` ends, other transactions locking the same user wait
   * (another capability's per-user count, such as the videos waiting for their upload).
   */
  lockUser(trx: Executor, userId: string): Promise<void> {
    return this.repo.lockUser(trx, userId);
  }

  async usernames(ids: string[]): Promise<Map<string, string>> {
    const rows = await this.repo.findManyByIds([...new Set(ids)]);
    return new Map(rows.map((r) => [r.id, r.username]));
  }

  /** A user's public profile by username (case-insensitive), for channels. */
  async findPublic(username: string): Promise<{ id: string; username: string; created_at: string } | null> {
    const u = await this.repo.findByUsername(username);
    return u ? { id: u.id, username: u.username, created_at: u.created_at } : null;
  }

  /** Users whose name starts with `prefix` (lower case), shortest names first: user search. */
  async findByPrefix(prefix: string, limit: number, offset: number): Promise<Array<{ id: string; username: string; created_at: string }>> {
    return this.repo.findByPrefix(prefix, limit, offset);
  }
}
