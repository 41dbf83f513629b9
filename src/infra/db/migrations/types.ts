// Column types that differ between SQLite and Postgres, so each migration is written once.
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectName } from '../database.js';

export type MigrationFactory = (dialect: DialectName) => Migration;

export function columnTypes(dialect: DialectName) {
  const pg = dialect === 'postgres';
  return {
    /** ISO-8601 UTC time. */
    timestamp: pg ? sql`timestamptz` : sql`text`,
    double: pg ? sql`double precision` : sql`real`,
    /** A blob of bytes. */
    bytes: pg ? sql`bytea` : sql`blob`,
  } as const;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = Kysely<any>;
