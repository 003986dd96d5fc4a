/**
 * What an importer makes of one row of a public data set: a sample (as the NDJSON sample line of
 * POST /v1/datasets/NAME/samples) and, where the row carries a worked solution, a TEACHER trace
 * (as the NDJSON trace line of .../traces; the API grades it against the sample's gold answer).
 */
import { createHash } from 'node:crypto';
import { badInput, type AppError } from '../../common/errors';
import type { SampleRecord } from '../../modules/samples/sample.import';

export interface TeacherTrace {
  text: string;
  /** Who wrote it: the data set's reference solutions (e.g. "gsm8k"). */
  producer: string;
}

export interface ImportedRow {
  sample: SampleRecord;
  trace?: TeacherTrace;
}

/** One row of the source file: a JSON object (a JSONL line, a Parquet row). */
export type SourceRow = Record<string, unknown>;

/**
 * A row that cannot be imported, as the coded error of the rest (BAD_USER_INPUT); `row` counts
 * from 1 (a JSONL file's line number) and travels in `details` too.
 */
export function badRow(row: number, detail: string): AppError {
  return badInput(`row ${row}: ${detail}`, { row });
}

/**
 * The externalId of a row that has no id of its own: derived from its problem, so re-importing
 * the same file (or the same problems in another order) finds the samples it wrote before.
 */
export function problemExternalId(prefix: string, problem: string): string {
  return `${prefix}-${createHash('sha256').update(problem).digest('hex').slice(0, 16)}`;
}

/** A cell as text: strings as they are, numbers and booleans printed, objects as JSON. */
export function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** The non-empty text of a column the format requires, or an error naming the column and row. */
export function requiredText(row: SourceRow, column: string, rowNumber: number): string {
  if (!Object.hasOwn(row, column)) {
    throw badRow(rowNumber, `column "${column}" is missing`);
  }
  const text = cellText(row[column]);
  if (text === null || text.trim() === '') {
    throw badRow(rowNumber, `column "${column}" is empty`);
  }
  return text;
}
