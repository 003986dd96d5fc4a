import type { Config } from '../../app/config';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';

export interface DatabaseTarget {
  url: string;
  /** Set when this process started the embedded server; stop it on shutdown. */
  embedded?: EmbeddedPostgresHandle;
}

/** DATABASE_URL when given; otherwise the embedded PostgreSQL in the data directory. */
export async function openDatabaseTarget(
  config: Config,
  log?: (line: string) => void,
): Promise<DatabaseTarget> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const embedded = await startEmbeddedPostgres({
    dataDir: config.STAGEWISE_DATA_DIR,
    port: config.EMBEDDED_PG_PORT,
    log,
  });
  return { url: embedded.url, embedded };
}
