import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';

export interface DatabaseTarget {
  url: string;
  /** Set when this process started the embedded server; stop it on shutdown. */
  embedded?: EmbeddedPostgresHandle;
}

/** Where the database is: the part of the server's config (src/app/config.ts) this reads. */
export interface DatabaseSettings {
  DATABASE_URL?: string;
  STAGEWISE_DATA_DIR: string;
  EMBEDDED_PG_PORT: number;
}

/** DATABASE_URL when given; otherwise the embedded PostgreSQL in the data directory. */
export async function openDatabaseTarget(
  config: DatabaseSettings,
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
