// Database adapter: Kysely over SQLite (embedded default, WAL) or Postgres (DATABASE_URL).
// Both dialects return the same JS shapes (ISO strings for times, numbers for bigints), so
// repositories are written once.
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type SqliteDatabase as SqliteDialectDatabase, type Transaction } from 'kysely';
import pg from 'pg';
import type { Tables } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';
export type Executor = Kysely<Tables> | Transaction<Tables>;

export interface Db {
  readonly kysely: Kysely<Tables>;
  readonly dialect: DialectName;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Postgres only: sends the statements in one round trip and runs them as one transaction, for a
   * hot path where a BEGIN, a SET LOCAL and a COMMIT would each cost a round trip of their own
   * (SET LOCAL / set_config(…, true) hold until the last statement's commit). Returns the last
   * statement's rows. See inlineParameters for what the statements may contain.
   */
  oneTrip?<R>(statements: (CompiledQuery | PreparedQuery)[]): Promise<R[]>;
}

/**
 * A statement oneTrip runs as a server-side prepared statement: PREPAREd on a connection the first
 * time that connection runs it, then only EXECUTEd, so Postgres parses and plans it once per
 * connection instead of on every call. For a hot statement whose planning costs as much as running
 * it. `name` must be unique per SQL text.
 */
export interface PreparedQuery {
  name: string;
  query: CompiledQuery;
}

/** The prepared statements (PreparedQuery names) each pooled Postgres connection holds. */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>();

let pgTypesSet = false;
function setPgTypes(): void {
  if (pgTypesSet) return;
  pgTypesSet = true;
  // int8 → number (counts and sizes here stay far below 2^53).
  pg.types.setTypeParser(20, (v) => Number(v));
  // numeric → number
  pg.types.setTypeParser(1700, (v) => Number(v));
  // timestamptz / timestamp → ISO strings, matching what SQLite stores.
  pg.types.setTypeParser(1184, (v) => new Date(v).toISOString());
  pg.types.setTypeParser(1114, (v) => new Date(`${v}Z`).toISOString());
}

export interface DbOptions {
  databaseUrl?: string;
  sqlitePath: string;
  /** Pool size for Postgres. */
  poolSize?: number;
}

export function openDatabase(opts: DbOptions): Db {
  if (opts.databaseUrl) {
    setPgTypes();
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // An idle client erroring (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const kysely = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    let prepare = true;
    return {
      kysely,
      dialect: 'postgres',
      async ping() {
        await sql`select 1`.execute(kysely);
      },
      async close() {
        await kysely.destroy();
      },
      async oneTrip<R>(statements: (CompiledQuery | PreparedQuery)[]): Promise<R[]> {
        // No parameters: node-postgres then uses the simple query protocol, whose one message may
        // hold several statements, run by Postgres as one implicit transaction.
        const client = await pool.connect();
        let known = preparedOn.get(client);
        if (!known) preparedOn.set(client, (known = new Set()));
        const added: string[] = [];
        const parts = statements.map((s) => {
          if (!('name' in s)) return inlineParameters(s);
          if (!prepare) return inlineParameters(s.query);
          const execute = `EXECUTE ${s.name}(${s.query.parameters.map(literal).join(', ')})`;
          if (known.has(s.name)) return execute;
          added.push(s.name);
          return `PREPARE ${s.name} AS ${s.query.sql};\n${execute}`;
        });
        let result: pg.QueryResult | pg.QueryResult[];
        try {
          result = (await client.query(parts.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
        } catch (err) {
          // Which statements a failed message prepared is unknown: the connection goes, not back
          // to the pool, and a new one prepares them again.
          client.release(true);
          const code = (err as { code?: string }).code;
          if (prepare && statements.some((s) => 'name' in s) && (code === '26000' || code === '42P05')) {
            // A prepared statement vanished or was already there: a pooler in transaction mode
            // (PgBouncer) hands each transaction another server connection. Plain statements from
            // now on; the message failed as a whole (one transaction), so it can run again.
            prepare = false;
            return this.oneTrip!<R>(statements);
          }
          throw err;
        }
        for (const name of added) known.add(name);
        client.release();
        const last = Array.isArray(result) ? result[result.length - 1] : result;
        return last.rows as R[];
      },
    };
  }
  if (opts.sqlitePath !== ':memory:') restrictFile(opts.sqlitePath);
  const database = new SqliteDatabase(opts.sqlitePath);
  database.pragma('journal_mode = WAL');
  // SQLite gives its -wal and -shm files the database file's mode; older ones may predate that.
  if (opts.sqlitePath !== ':memory:') for (const suffix of ['-wal', '-shm']) if (fs.existsSync(opts.sqlitePath + suffix)) fs.chmodSync(opts.sqlitePath + suffix, 0o600);
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Tables>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
  return {
    kysely,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    async close() {
      await kysely.destroy();
    },
  };
}

/** How many distinct query texts keep their prepared statement (least recently used dropped first). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query again, and for a short query (a search, a bearer token's session
 * lookup on every request) preparing costs as much as running it. Repositories send the same SQL
 * text with different parameters, so queries (not DDL, pragmas or transaction control) keep their
 * prepared statement per text; SQLite re-prepares one itself when the schema changes. Kysely's
 * connection mutex serialises every use of this one connection; a statement still being iterated
 * (a streamed query) is busy, so that rare case gets a fresh one.
 */
function cachingStatements(database: SqliteDatabase.Database): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      const hit = cache.get(text);
      if (hit && !hit.busy) {
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const stmt = database.prepare(text);
      if (hit || !/^\s*(select|insert|update|delete|with)\b/i.test(text)) return stmt;
      cache.set(text, stmt);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}

/**
 * The database holds password hashes and token hashes: only Nova's own user may read it (mode
 * 0600), whatever the umask, also for a file created by an earlier version with a wider mode.
 */
function restrictFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
}

/**
 * A compiled Postgres query with its `$n` parameters replaced by quoted literals (numbers, strings,
 * null and arrays of numbers; anything else throws). The SQL text itself must hold no `$n` other
 * than its parameters (no dollar-quoted strings).
 */
export function inlineParameters(query: CompiledQuery): string {
  return query.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i >= query.parameters.length) throw new RangeError(`the query has no parameter $${n}`);
    return literal(query.parameters[i]);
  });
}

/** One parameter as a quoted Postgres literal: numbers, strings, null and arrays of numbers. */
function literal(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return pg.escapeLiteral(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return `'{${v.join(',')}}'`;
  throw new TypeError(`cannot inline a parameter of type ${typeof v}`);
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** True when the error is a unique-constraint violation on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
