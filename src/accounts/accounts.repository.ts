// Users and bearer sessions in the database. No product rules here: see accounts.service.
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';

export interface UserTable {
  id: string;
  username: string;
  username_lower: string;
  password_hash: string;
  role: string;
  created_at: string;
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
  }
}

export type UserRow = UserTable;

export class AccountsRepository {
  constructor(private readonly db: Db) {}

  async insertUser(user: UserTable): Promise<void> {
    await this.db.kysely.insertInto('users').values(user).execute();
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('username_lower', '=', username.toLowerCase()).executeTakeFirst();
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

  async findSession(tokenHash: string): Promise<(SessionTable & { username: string; role: string }) | undefined> {
    return this.db.kysely
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.token_hash', 'sessions.user_id', 'sessions.created_at', 'sessions.expires_at', 'users.username', 'users.role'])
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
