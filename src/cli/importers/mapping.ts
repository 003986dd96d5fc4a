/**
 * The generic importer: a column mapping such as `problem=question,answer=final,externalId=id`
 * says which column of any JSONL or Parquet file fills which field of a sample.
 *
 * Fields: problem and answer (required); externalId (default: a hash of the problem); domain;
 * tags (repeatable: `tags=level,tags=type`; an array column gives its items, a scalar column
 * `column:value`); trace (a worked solution, imported as a TEACHER trace); metadata.KEY.
 * A column name may be a dotted path into a nested object (`meta.id`).
 */
import { badInput } from '../../common/errors';
import { MAPPING_FIELDS, SINGLE_FIELDS, type SingleField } from './formats';
import { cellText, badRow, problemExternalId, type ImportedRow, type SourceRow } from './records';

export interface ColumnMapping {
  problem: string;
  answer: string;
  externalId?: string;
  domain?: string;
  tags: string[];
  trace?: string;
  metadata: Record<string, string>;
}

const isSingleField = (f: string): f is SingleField =>
  (SINGLE_FIELDS as readonly string[]).includes(f);

/** Parses `field=column` pairs (already split on commas); a mistake throws with a fix-it text. */
export function parseMapping(pairs: string[]): ColumnMapping {
  const single: Partial<Record<SingleField, string>> = {};
  const tags: string[] = [];
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const field = pair.slice(0, eq).trim();
    const column = pair.slice(eq + 1).trim();
    if (eq < 0 || !field || !column) {
      throw badInput(`--map ${JSON.stringify(pair)}: expected FIELD=COLUMN, e.g. problem=question`);
    }
    if (field === 'tags') tags.push(column);
    else if (field.startsWith('metadata.') && field.length > 'metadata.'.length) {
      metadata[field.slice('metadata.'.length)] = column;
    } else if (isSingleField(field)) {
      if (single[field]) throw badInput(`--map names ${field} twice`);
      single[field] = column;
    } else {
      throw badInput(`--map: unknown field ${JSON.stringify(field)}; fields: ${MAPPING_FIELDS}`);
    }
  }
  const { problem, answer } = single;
  if (!problem || !answer) {
    throw badInput(
      '--map must name the problem and answer columns, e.g. problem=question,answer=final',
    );
  }
  return { ...single, problem, answer, tags, metadata };
}

/** The value at `column`: the key itself, else a dotted path; `undefined` when absent. */
function lookup(row: SourceRow, column: string): unknown {
  if (Object.hasOwn(row, column)) return row[column];
  let value: unknown = row;
  for (const part of column.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The value of a mapped column; a column the row lacks is an error naming field, column and row. */
function mapped(row: SourceRow, field: string, column: string, rowNumber: number): unknown {
  const value = lookup(row, column);
  if (value === undefined) {
    throw badRow(rowNumber, `column "${column}" (mapped to ${field}) is missing`);
  }
  return value;
}

function requiredMapped(row: SourceRow, field: string, column: string, rowNumber: number): string {
  const text = cellText(mapped(row, field, column, rowNumber));
  if (text === null || text.trim() === '') {
    throw badRow(rowNumber, `column "${column}" (mapped to ${field}) is empty`);
  }
  return text;
}

function optionalMapped(
  row: SourceRow,
  field: string,
  column: string | undefined,
  rowNumber: number,
) {
  if (!column) return null;
  return cellText(mapped(row, field, column, rowNumber))?.trim() || null;
}

function tagsOf(row: SourceRow, columns: string[], rowNumber: number): string[] {
  return columns.flatMap((column) => {
    const value = mapped(row, 'tags', column, rowNumber);
    if (Array.isArray(value)) return value.map(cellText).filter((t): t is string => !!t);
    const text = cellText(value);
    return text ? [`${column}:${text}`] : [];
  });
}

export function mappedRow(mapping: ColumnMapping, row: SourceRow, rowNumber: number): ImportedRow {
  const problem = requiredMapped(row, 'problem', mapping.problem, rowNumber);
  const answer = requiredMapped(row, 'answer', mapping.answer, rowNumber).trim();
  const externalId = optionalMapped(row, 'externalId', mapping.externalId, rowNumber);
  const trace = optionalMapped(row, 'trace', mapping.trace, rowNumber);
  const metadata = Object.fromEntries(
    Object.entries(mapping.metadata).map(([key, column]) => [
      key,
      mapped(row, `metadata.${key}`, column, rowNumber) ?? null,
    ]),
  );
  return {
    sample: {
      externalId: externalId ?? problemExternalId('row', problem),
      problem,
      answer,
      domain: optionalMapped(row, 'domain', mapping.domain, rowNumber),
      tags: tagsOf(row, mapping.tags, rowNumber),
      ...(Object.keys(metadata).length ? { metadata: jsonSafe(metadata) } : {}),
    },
    trace: trace ? { text: trace, producer: 'import' } : undefined,
  };
}

/** Parquet gives bigints and Dates: make metadata plain JSON. */
function jsonSafe(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)),
  ) as Record<string, unknown>;
}
