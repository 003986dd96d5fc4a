import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/** Marks a client that already has its lasting 'error' listener. */
const GUARDED = Symbol('stagewise.poolErrorGuard');

/**
 * What a log line may say about a database error: the code and message, never the pg client the
 * error carries (its whole connection config, tens of lines per error).
 */
export function describeDbError(err: Error & { code?: string }) {
  return { code: err.code, reason: err.message };
}

/**
 * When PostgreSQL goes away (restarted: 57P01, or its socket closed) every pg client emits
 * 'error'. pg-pool listens only while a client is idle; a client out of the pool whose holder
 * hears one error only (TypeORM's query runner removes its listener on the first) or none at all
 * emits an unheard 'error', and Node ends the process. So each client of `pool` gets a lasting
 * listener that logs; the query in flight still fails, and the pool drops the client on release
 * because it is no longer queryable.
 */
export function guardPoolErrors(pool: Pool, log: Logger, what: string): void {
  if (pool.listenerCount('error') === 0) {
    pool.on('error', (err) => log.warn(describeDbError(err), `${what}: idle connection lost`));
  }
  const guard = (client: PoolClient) => {
    const marked = client as PoolClient & { [GUARDED]?: true };
    if (marked[GUARDED]) return;
    marked[GUARDED] = true;
    let logged = false;
    client.on('error', (err) => {
      // A dying connection may emit twice (the server's notice, then the closed socket).
      if (logged) return;
      logged = true;
      log.warn(describeDbError(err), `${what}: connection lost`);
    });
  };
  pool.on('connect', guard);
  // Clients made before this call are guarded when next taken out.
  pool.on('acquire', guard);
}

/** The same for an initialized TypeORM DataSource's pool. */
export function guardDataSourceErrors(ds: DataSource, log: Logger): void {
  const pool = (ds.driver as unknown as { master?: Pool }).master;
  if (pool) guardPoolErrors(pool, log, 'database pool');
}
