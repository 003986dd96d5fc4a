import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/common/db/embedded-postgres';
import { freePort } from '../src/common/net';

/**
 * The PostgreSQL a benchmark runs on: TEST_DATABASE_URL when set, otherwise a throwaway embedded
 * server (and TEST_DATABASE_URL is set to it). Returns how to stop what it started.
 */
export async function benchDatabase(): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) return () => Promise.resolve();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-'));
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  process.env.TEST_DATABASE_URL = pg.url;
  return async () => {
    await pg.stop();
    // As root the data lives where resolveDataDir put it, not in the folder asked for.
    fs.rmSync(pg.dataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
