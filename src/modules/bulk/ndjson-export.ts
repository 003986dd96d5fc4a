import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';

const BATCH_ROWS = 1_000;

/**
 * Streams the rows of a query to the response as NDJSON through a server-side cursor: memory
 * stays flat whatever the size, and a slow reader slows the query instead of filling a buffer.
 */
export async function streamNdjson(
  ds: DataSource,
  res: Response,
  sql: string,
  params: unknown[],
  toRecord: (row: Record<string, unknown>) => unknown,
): Promise<void> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    // A cursor needs a transaction; REPEATABLE READ makes the export one consistent snapshot.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const rows = client.query(new QueryStream(sql, params, { batchSize: BATCH_ROWS }));
    const toLines = new Transform({
      writableObjectMode: true,
      transform(row: Record<string, unknown>, _enc, done) {
        done(null, JSON.stringify(toRecord(row)) + '\n');
      },
    });
    res.status(200).type('application/x-ndjson');
    await pipeline(rows, toLines, res);
    await client.query('COMMIT');
  } catch (err) {
    await qr.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await qr.release();
  }
}
