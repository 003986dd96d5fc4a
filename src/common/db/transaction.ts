import type { EntityManager, QueryRunner } from 'typeorm';
import type { PoolClient } from 'pg';

/**
 * The query runner and the raw pg client (for COPY) of a transaction's manager: what the bulk
 * imports need inside `withTransaction(ctx, tx => …)` (common/request-context.ts), the one way
 * work is put in a transaction.
 */
export function connectionOf(manager: EntityManager): { qr: QueryRunner; client: PoolClient } {
  const qr = manager.queryRunner;
  if (!qr?.isTransactionActive) throw new Error('connectionOf needs a transaction’s manager');
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  return { qr, client };
}
