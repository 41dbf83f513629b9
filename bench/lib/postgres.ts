// CPU of the Postgres backends serving one database, for benchmarks that count the database's work
// per operation: they run on this machine, so their CPU is read from /proc.
import type pg from 'pg';
import { cpuSeconds } from './harness.js';

/** CPU seconds each backend connected to `database` has used so far, by pid. */
export async function backendCpu(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const cpu = new Map<number, number>();
  for (const { pid } of r.rows) {
    try {
      cpu.set(pid, cpuSeconds(pid));
    } catch {
      // A backend that ended meanwhile.
    }
  }
  return cpu;
}

/**
 * CPU seconds the backends used between two readings, summed per backend: a pool opens and closes
 * connections, so sums over different sets cannot be compared. A backend that closed meanwhile is
 * not counted (a pool closes idle ones only), nor is an autovacuum worker that came and went.
 */
export function backendCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, cpu] of after) s += cpu - (before.get(pid) ?? 0);
  return s;
}
