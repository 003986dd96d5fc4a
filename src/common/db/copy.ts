import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * A COPY-fed import of at least this many rows refreshes the planner's statistics of the table it
 * filled (ANALYZE, in its transaction): a statement right after it would be planned as if the
 * table had its old size until autovacuum comes by.
 */
export const ANALYZE_AFTER_ROWS = 100;

/** One value in PostgreSQL's COPY text format: NULL as \N, and the four escapes. */
export function copyValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value !== 'string') return String(value);
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

/** A text[] value in COPY text format (an array literal, then COPY-escaped). */
export function copyTextArray(values: readonly string[]): string {
  const literal = values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',');
  return copyValue(`{${literal}}`);
}

const CHUNK_BYTES = 256 * 1024;

/** Groups COPY lines into chunks: one stream write per line would dominate a bulk load. */
async function* chunked(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for await (const line of lines) {
    buffer += line;
    if (buffer.length >= CHUNK_BYTES) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}

/**
 * Streams COPY lines (each ending in \n) into `COPY ... FROM STDIN`. If the source throws, the
 * COPY is aborted and the error is rethrown; the caller's transaction rolls back.
 */
export async function copyLines(
  client: PoolClient,
  copySql: string,
  lines: AsyncIterable<string> | Iterable<string>,
): Promise<void> {
  await pipeline(
    Readable.from(chunked(lines), { objectMode: false }),
    client.query(copyFrom(copySql)),
  );
}

/** Formats each row as a COPY line, lazily. */
export async function* mapRows<T>(
  rows: AsyncIterable<T> | Iterable<T>,
  format: (row: T) => string,
): AsyncGenerator<string> {
  for await (const row of rows) yield format(row);
}
