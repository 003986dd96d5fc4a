import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { withSnapshotCursor } from './db/snapshot-cursor';

/**
 * Lines leave in chunks of about this many bytes rather than one write per row: each write to
 * the response is a chunk of HTTP chunked encoding and, often, a syscall, which dominated the
 * CPU of exporting small rows.
 */
const EXPORT_CHUNK_BYTES = 64 * 1024;

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
    let pending = '';
    const toLines = new Transform({
      writableObjectMode: true,
      transform(row: Record<string, unknown>, _enc, done) {
        pending += JSON.stringify(toRecord(row)) + '\n';
        if (pending.length < EXPORT_CHUNK_BYTES) return done();
        const chunk = pending;
        pending = '';
        done(null, chunk);
      },
      flush(done) {
        done(null, pending || undefined);
      },
    });
    res.status(200).type('application/x-ndjson');
    await pipeline(rows, toLines, res);
  });
}
