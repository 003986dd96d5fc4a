/**
 * The rows of a file on disk, streamed: JSONL line by line, Parquet one row group at a time, so
 * memory stays at one row group whatever the file's size.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { badRow, type SourceRow } from './records';

export interface SourceProgress {
  /** Bytes read (JSONL) or rows read (Parquet). */
  done: number;
  total: number;
  unit: 'bytes' | 'rows';
}

export interface Source {
  kind: 'jsonl' | 'parquet';
  total: number;
  unit: SourceProgress['unit'];
  /** Each row with its number from 1 (JSONL: its line number) and the progress after it. */
  rows(): AsyncGenerator<{ row: SourceRow; rowNumber: number; done: number }>;
}

const PARQUET_MAGIC = 'PAR1';

/** Whether `file` starts with Parquet's magic bytes. */
export function isParquet(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === PARQUET_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

function isObject(value: unknown): value is SourceRow {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function jsonlSource(file: string): Source {
  const total = fs.statSync(file).size;
  return {
    kind: 'jsonl',
    total,
    unit: 'bytes',
    async *rows() {
      const lines = readline.createInterface({
        input: fs.createReadStream(file),
        crlfDelay: Infinity,
      });
      let rowNumber = 0;
      let done = 0;
      for await (const line of lines) {
        rowNumber += 1;
        done += Buffer.byteLength(line) + 1;
        if (line.trim() === '') continue;
        let row: unknown;
        try {
          row = JSON.parse(line);
        } catch {
          throw badRow(rowNumber, 'not valid JSON');
        }
        if (!isObject(row)) throw badRow(rowNumber, 'not a JSON object');
        yield { row, rowNumber, done: Math.min(done, total) };
      }
    },
  };
}

export async function parquetSource(file: string): Promise<Source> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } =
    await import('hyparquet');
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const total = Number(metadata.num_rows);
  return {
    kind: 'parquet',
    total,
    unit: 'rows',
    async *rows() {
      let rowStart = 0;
      for (const group of metadata.row_groups) {
        const rowEnd = rowStart + Number(group.num_rows);
        const rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
        for (const [i, row] of rows.entries()) {
          yield { row: row as SourceRow, rowNumber: rowStart + i + 1, done: rowStart + i + 1 };
        }
        rowStart = rowEnd;
      }
    },
  };
}

/** The source for `file`: Parquet when it starts with Parquet's magic bytes, JSONL otherwise. */
export async function openSource(file: string): Promise<Source> {
  return isParquet(file) ? parquetSource(file) : jsonlSource(file);
}
