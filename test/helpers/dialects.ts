// The two database engines a repository suite runs on: a throw-away SQLite file and a throw-away
// database on the machine's real Postgres (skipped outside CI when Postgres does not answer).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../src/infra/db/database.js';
import { createTestDatabase, postgresSkipReason } from './postgres.js';

export interface TestDialect {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ db: Db; cleanup: () => Promise<void> }>;
  skip(): Promise<string | false>;
}

export const TEST_DIALECTS: TestDialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-db-'));
      return { db: openDatabase({ sqlitePath: path.join(dir, 'nova.db') }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
    skip: async () => false,
  },
  {
    name: 'postgres',
    async open() {
      const pg = await createTestDatabase();
      return { db: openDatabase({ databaseUrl: pg.url, sqlitePath: ':memory:' }), cleanup: () => pg.drop() };
    },
    skip: postgresSkipReason,
  },
];
