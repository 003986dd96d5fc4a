import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { withSnapshotCursor } from './db/snapshot-cursor';

/** A query whose rows go out as NDJSON records: services build it, routers stream it. */
export interface NdjsonQuery {
  sql: string;
  params: unknown[];
  toRecord: (row: Record<string, unknown>) => unknown;
}

/**
 * Streams the rows of a query to the response as NDJSON through a server-side cursor: memory
 * stays flat whatever the size, and a slow reader slows the query instead of filling a buffer.
 */
export function streamNdjson(
  ds: DataSource,
  res: Response,
  sql: string,
  params: unknown[],
  toRecord: (row: Record<string, unknown>) => unknown,
): Promise<void> {
  return withSnapshotCursor<Record<string, unknown>>(ds, sql, params, async (rows) => {
    const toLines = new Transform({
      writableObjectMode: true,
      transform(row: Record<string, unknown>, _enc, done) {
        done(null, JSON.stringify(toRecord(row)) + '\n');
      },
    });
    res.status(200).type('application/x-ndjson');
    await pipeline(rows, toLines, res);
  });
}
