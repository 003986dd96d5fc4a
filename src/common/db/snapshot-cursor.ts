import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';

const BATCH_ROWS = 1_000;

/**
 * Runs `consume` over the rows of a query read through a server-side cursor, inside one READ ONLY
 * REPEATABLE READ transaction (a cursor needs one; the snapshot keeps an export consistent).
 * Memory stays flat whatever the size, and a slow consumer slows the query.
 */
export async function withSnapshotCursor<Row>(
  ds: DataSource,
  sql: string,
  params: unknown[],
  consume: (rows: Readable & AsyncIterable<Row>) => Promise<void>,
): Promise<void> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const rows = client.query(new QueryStream(sql, params, { batchSize: BATCH_ROWS }));
    try {
      await consume(rows);
    } finally {
      rows.destroy();
    }
    await client.query('COMMIT');
  } catch (err) {
    await qr.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await qr.release();
  }
}
