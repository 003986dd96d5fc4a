import type { Pool, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs a named (prepared) statement on a DataSource's pool: PostgreSQL parses and plans it once
 * per connection, and later calls send only the name and the values. TypeORM cannot name a
 * statement, so this goes to its pg pool directly, and tells the DataSource's logger, as TypeORM
 * would, so statement counts (StatementCounter) still see it.
 *
 * `name` must be unique to `text` in the whole process: a connection keeps it for its life.
 */
export async function preparedQuery<T extends QueryResultRow>(
  ds: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pool = (ds.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('preparedQuery needs an initialized PostgreSQL DataSource');
  ds.logger.logQuery(text, values);
  const result = await pool.query<T>({ name, text, values });
  return result.rows;
}
