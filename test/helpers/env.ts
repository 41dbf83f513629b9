// Which real servers the tests can use. In CI (CI=true) Postgres and S3 suites must run, so a
// missing server fails loudly; elsewhere a suite whose server is absent is skipped with one line.
import net from 'node:net';

export const IS_CI = /^(1|true)$/i.test(process.env.CI ?? '');
export const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Returns a reason to skip (outside CI), or throws in CI, when host:port does not answer. */
export async function requireServer(name: string, host: string, port: number): Promise<string | false> {
  // A few tries with a generous timeout: on a loaded machine one connect can take seconds.
  for (let attempt = 0; attempt < 3; attempt++) if (await reachable(host, port, 5000)) return false;
  if (IS_CI) throw new Error(`${name} at ${host}:${port} is required in CI but does not answer`);
  const reason = `${name} not reachable at ${host}:${port}: suite skipped`;
  console.log(`# skip: ${reason}`);
  return reason;
}
