import type { DataSource } from 'typeorm';
import { loadConfig } from '../app/config';
import { openDatabaseTarget } from '../common/db/database';
import { createAppDataSource } from '../app/data-source';

/** Runs a CLI command against the configured database (the embedded one by default), migrated. */
export async function withDatabase<T>(work: (ds: DataSource) => Promise<T>): Promise<T> {
  const target = await openDatabaseTarget(loadConfig());
  const ds = createAppDataSource(target.url, { poolSize: 2, applicationName: 'stagewise-cli' });
  try {
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    return await work(ds);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await target.embedded?.stop();
  }
}

/** Prints the message of an expected failure, exits non-zero. */
export function fail(err: unknown): never {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
