import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Pool, QueryConfig, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import { TIMESTAMPS_AS_TEXT } from './lazy-timestamps';

/**
 * Named (prepared) statements on a DataSource's pool: PostgreSQL parses and plans each once per
 * connection, and later calls send only the name and the values. TypeORM cannot name a
 * statement, so these go to its pg pool directly, and tell the DataSource's logger, as TypeORM
 * would, so statement counts (StatementCounter) still see them.
 */
async function runPrepared<T extends QueryResultRow>(
  ds: DataSource,
  query: QueryConfig<unknown[]> & { rowMode?: 'array'; types?: pg.CustomTypesConfig },
): Promise<T[]> {
  const pool = (ds.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('prepared statements need an initialized PostgreSQL DataSource');
  ds.logger.logQuery(query.text, query.values);
  const result = await pool.query<T>(query);
  return result.rows;
}

/** Rows as objects. `name` must be unique to `text` in the whole process: a connection keeps it. */
export function preparedQuery<T extends QueryResultRow>(
  ds: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  return runPrepared<T>(ds, { name, text, values });
}

const statementNames = new Map<string, string>();
/** Past this many distinct texts (lists of ids expand to $1..$n), statements go unnamed. */
const MAX_NAMED = 500;

/**
 * Rows as arrays of column values, named after a hash of the text (the read path's loaders).
 * Timestamps stay text: RowReader turns them into Dates only when read (see lazy-timestamps).
 */
export function preparedRows(
  ds: DataSource,
  text: string,
  values: unknown[],
): Promise<unknown[][]> {
  let name = statementNames.get(text);
  if (!name && statementNames.size < MAX_NAMED) {
    name = `sw_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return runPrepared<unknown[]>(ds, {
    name,
    text,
    values,
    rowMode: 'array',
    types: TIMESTAMPS_AS_TEXT,
  });
}
