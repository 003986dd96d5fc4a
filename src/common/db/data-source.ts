import path from 'node:path';
import { DataSource, type EntitySchema, type Logger as TypeOrmLogger } from 'typeorm';
import { currentRequest, enableRequestScopes } from './request-scope';
import { SnakeNamingStrategy } from './snake-naming.strategy';

/**
 * Counts the SQL statements a data source sends while serving HTTP requests: how tests prove
 * loaders batch. Background work (run supervision, curricula, webhooks) runs outside any request
 * and is not counted, so a count does not depend on what the server happened to be doing.
 */
export class StatementCounter implements TypeOrmLogger {
  count = 0;
  /** Sees each counted statement's text and parameters (tests that tell statements apart). */
  onQuery?: (query: string, parameters?: unknown[]) => void;
  /** Sees every statement, background work included (live streams read outside requests). */
  onAnyQuery?: (query: string) => void;
  logQuery(query: string, parameters?: unknown[]): void {
    this.onAnyQuery?.(query);
    if (!currentRequest()) return;
    this.count += 1;
    this.onQuery?.(query, parameters);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** Compiled migrations live beside the compiled sources: dist/migrations/*.js. */
const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', '..', 'migrations', '*.js');

export interface DataSourceOptions {
  /** Every table TypeORM manages: the composition root's list (src/app/entities.ts). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: (Function | EntitySchema)[];
  poolSize?: number;
  counter?: StatementCounter;
  applicationName?: string;
}

export function createDataSource(url: string, opts: DataSourceOptions): DataSource {
  if (opts.counter) enableRequestScopes();
  return new DataSource({
    type: 'postgres',
    url,
    entities: opts.entities,
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    logging: opts.counter ? ['query'] : false,
    logger: opts.counter,
    extra: { max: opts.poolSize ?? 10, application_name: opts.applicationName ?? 'stagewise' },
  });
}
