// A throw-away Postgres database per test file, created on the machine's real server and dropped after.
import pg from 'pg';
import { PG_ADMIN_URL, requireServer } from './env.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function postgresSkipReason(): Promise<string | false> {
  const u = new URL(PG_ADMIN_URL);
  return requireServer('PostgreSQL', u.hostname, Number(u.port || 5432));
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `nova_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
