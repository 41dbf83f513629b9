// Users and bearer sessions in the database. No product rules here: see accounts.service.
import { sql, type ColumnType, type Selectable } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';

export interface UserTable {
  id: string;
  username: string;
  username_lower: string;
  password_hash: string;
  role: string;
  created_at: string;
  /** Set while an admin has disabled the account: no sign-in, no token works. */
  disabled_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface InviteTable {
  code: string;
  created_by: string;
  max_uses: number;
  uses: ColumnType<number, number | undefined, number>;
  created_at: string;
  expires_at: string | null;
}

export interface SessionTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    users: UserTable;
    sessions: SessionTable;
    invites: InviteTable;
  }
}

export type UserRow = Selectable<UserTable>;
export type InviteRow = Selectable<InviteTable>;

export interface UserListFilter {
  /** Part of the username (any position), lower case. */
  query?: string;
  limit: number;
  offset: number;
}

export class AccountsRepository {
  constructor(private readonly db: Db) {}

  async insertUser(user: Omit<UserRow, 'disabled_at'>): Promise<void> {
    await this.db.kysely.insertInto('users').values(user).execute();
  }

  /**
   * Inserts a user that an invite lets in: one use of the invite is taken in the same transaction,
   * so a code with one use left admits one account. False when the invite is used up or expired.
   */
  async insertUserWithInvite(user: Omit<UserRow, 'disabled_at'>, code: string, nowIso: string): Promise<boolean> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('invites')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('code', '=', code)
        .where((eb) => eb('uses', '<', eb.ref('max_uses')))
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowIso)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await trx.insertInto('users').values(user).execute();
      return true;
    });
  }

  async findInvite(code: string): Promise<InviteRow | undefined> {
    return this.db.kysely.selectFrom('invites').selectAll().where('code', '=', code).executeTakeFirst();
  }

  async insertInvite(row: InviteRow): Promise<void> {
    await this.db.kysely.insertInto('invites').values(row).execute();
  }

  async listInvites(limit: number): Promise<InviteRow[]> {
    return this.db.kysely.selectFrom('invites').selectAll().orderBy('created_at', 'desc').orderBy('code').limit(limit).execute();
  }

  async deleteInvite(code: string): Promise<boolean> {
    const res = await this.db.kysely.deleteFrom('invites').where('code', '=', code).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Users, newest first, optionally those whose name contains `query`. */
  async listUsers(f: UserListFilter): Promise<{ rows: UserRow[]; total: number }> {
    let q = this.db.kysely.selectFrom('users');
    if (f.query) {
      const pattern = `%${f.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`username_lower LIKE ${pattern} ESCAPE '\\'`);
    }
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  async setDisabled(id: string, disabledAt: string | null): Promise<void> {
    await this.db.kysely.updateTable('users').set({ disabled_at: disabledAt }).where('id', '=', id).execute();
  }

  async deleteSessionsOf(userId: string): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async countAdmins(): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('username_lower', '=', username.toLowerCase()).executeTakeFirst();
  }

  /**
   * Until `trx` ends, other transactions that lock the same user wait. Postgres locks the user's
   * row; SQLite needs nothing, as its one connection runs one transaction at a time.
   */
  async lockUser(trx: Executor, id: string): Promise<void> {
    if (this.db.dialect === 'postgres') await trx.selectFrom('users').select('id').where('id', '=', id).forUpdate().execute();
  }

  async findById(id: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findManyByIds(ids: string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return this.db.kysely.selectFrom('users').selectAll().where('id', 'in', ids).execute();
  }

  /** The id of the earliest account: the instance's first user. */
  async firstUserId(): Promise<string | undefined> {
    const row = await this.db.kysely.selectFrom('users').select('id').orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
    return row?.id;
  }

  /** Replaces a password hash, unless it changed meanwhile (a parallel login rehashed it already). */
  async setPasswordHash(id: string, previous: string, next: string): Promise<void> {
    await this.db.kysely.updateTable('users').set({ password_hash: next }).where('id', '=', id).where('password_hash', '=', previous).execute();
  }

  async setRole(id: string, role: string): Promise<void> {
    await this.db.kysely.updateTable('users').set({ role }).where('id', '=', id).execute();
  }

  async insertSession(s: SessionTable): Promise<void> {
    await this.db.kysely.insertInto('sessions').values(s).execute();
  }

  async findSession(tokenHash: string): Promise<(SessionTable & { username: string; role: string; disabled_at: string | null }) | undefined> {
    return this.db.kysely
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.token_hash', 'sessions.user_id', 'sessions.created_at', 'sessions.expires_at', 'users.username', 'users.role', 'users.disabled_at'])
      .where('sessions.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  async deleteExpiredSessions(nowIso: string): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('expires_at', '<', nowIso).execute();
  }

  async findByPrefix(prefix: string, limit: number, offset: number): Promise<Array<{ id: string; username: string; created_at: string }>> {
    // Usernames are [a-z0-9_]: escape the LIKE wildcard `_` so it is taken literally.
    const pattern = `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db.kysely
      .selectFrom('users')
      .select(['id', 'username', 'created_at'])
      .where(sql<boolean>`username_lower LIKE ${pattern} ESCAPE '\\'`)
      .orderBy(sql`length(username)`)
      .orderBy('username_lower')
      .limit(limit)
      .offset(offset)
      .execute();
  }
}
