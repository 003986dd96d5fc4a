/**
 * PostgreSQL ending a connection (a restart sends 57P01, "terminating connection due to
 * administrator command", then closes the socket) must neither end the API process through an
 * unheard client 'error' nor reach a client as INTERNAL. The whole restart under a running API is
 * tests/reliability.test.ts; these pin the two pieces with pg_terminate_backend, which ends a
 * backend exactly the way a shutdown does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import pino from 'pino';
import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { createTestDatabase } from './helpers/test-server';
import { createAppDataSource } from '../src/app/data-source';
import { guardDataSourceErrors, guardPoolErrors } from '../src/common/db/pool-errors';
import { HTTP_STATUS, toAppError } from '../src/common/errors';
import { freePort } from '../src/common/net';

/** A logger whose lines the test reads. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('a database connection ended under the API', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: pg.Client;

  /** Ends backend `pid` as a shutdown would, once it runs `waitingFor` (when given). */
  async function terminate(pid: number, waitingFor?: string): Promise<void> {
    if (waitingFor) {
      for (;;) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE pid = $1 AND state = 'active' AND query LIKE $2`,
          [pid, `%${waitingFor}%`],
        );
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  }

  before(async () => {
    db = await createTestDatabase();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await db.drop();
  });

  it('a client taken out of a pool outlives its terminated connection, and the pool serves the next query', async () => {
    const { log, lines } = capturingLog();
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    guardPoolErrors(pool, log, 'test pool');
    try {
      // Held outside any query, as a transaction between statements holds it: pg-pool no longer
      // listens, and the connection emits 'error' twice (the 57P01 notice, then the closed socket).
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const ended = new Promise((r) => client.once('end', r));
      await terminate(rows[0].pid);
      await ended;
      await new Promise((r) => setImmediate(r));
      client.release();
      const next = await pool.query<{ one: number }>('SELECT 1 AS one');
      assert.equal(next.rows[0].one, 1);
      const lost = lines.filter((l) => l.msg === 'test pool: connection lost');
      assert.equal(lost.length, 1, 'one line per lost connection');
      // Only the code and the reason: nothing of the connection's settings.
      const { level: _l, time: _t, pid: _p, hostname: _h, msg: _m, ...fields } = lost[0];
      assert.deepEqual(fields, {
        code: '57P01',
        reason: 'terminating connection due to administrator command',
      });
    } finally {
      await pool.end();
    }
  });

  it('answers a query cut off by a terminated connection, or a refused one, with SERVICE_UNAVAILABLE (503)', async () => {
    const { log } = capturingLog();
    const ds: DataSource = createAppDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
    guardDataSourceErrors(ds, log);
    const qr = ds.createQueryRunner();
    try {
      await qr.connect();
      const [{ pid }] = (await qr.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      const cutOff = qr.query('SELECT pg_sleep(60) AS cut_off').then(
        () => assert.fail('the query should have been cut off'),
        (err: unknown) => err,
      );
      const client = (qr as unknown as { databaseConnection: pg.PoolClient }).databaseConnection;
      const ended = new Promise((r) => client.once('end', r));
      await terminate(pid, 'cut_off');
      const error = toAppError(await cutOff);
      // Released only once the socket closed, so the pool knows the client is dead.
      await ended;
      assert.equal(error.code, 'SERVICE_UNAVAILABLE');
      assert.equal(HTTP_STATUS[error.code], 503);
      assert.doesNotMatch(error.message, /terminat|administrator/);
    } finally {
      await qr.release();
    }
    // The pool replaced the lost connection.
    const [row] = await ds.query<{ one: number }[]>('SELECT 1 AS one');
    assert.equal(row.one, 1);
    await ds.destroy();

    // Nothing listens on this port: a server that is down.
    const down = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x`,
    });
    const refused = await down.connect().then(
      () => assert.fail('nothing should answer'),
      (err: unknown) => err,
    );
    assert.equal(toAppError(refused).code, 'SERVICE_UNAVAILABLE');
  });
});
