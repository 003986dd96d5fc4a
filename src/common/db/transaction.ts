import type { DataSource, QueryRunner } from 'typeorm';
import type { PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on one connection, handing it both TypeORM's query runner and
 * the raw pg client (for COPY). Commits on success, rolls back on any error.
 */
export async function withTransaction<T>(
  ds: DataSource,
  work: (qr: QueryRunner, client: PoolClient) => Promise<T>,
): Promise<T> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.startTransaction();
    const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    const result = await work(qr, client);
    await qr.commitTransaction();
    return result;
  } catch (err) {
    if (qr.isTransactionActive) await qr.rollbackTransaction();
    throw err;
  } finally {
    await qr.release();
  }
}
