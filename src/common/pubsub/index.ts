import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import pg from 'pg';
import { guardPoolErrors } from '../db/pool-errors';
import { ANNOUNCEMENT_CHANNEL } from './announcement';
import { AnnouncementBus } from './bus';
import { PgNotifyTransport } from './pg-transport';
import { RedisTransport } from './redis-transport';

export type { Announcer } from './announcer';
export type { AnnouncementSource, Signal } from './bus';
export { AnnouncementBus } from './bus';

/**
 * The process's announcer and listener: Redis pub/sub when REDIS_URL is set, otherwise
 * Postgres LISTEN/NOTIFY on the application database (one dedicated connection listens; NOTIFY
 * goes through the DataSource's pool, or a small pool of its own when given a bare URL).
 * Resolves once it is listening.
 */
export async function createAnnouncer(
  config: { REDIS_URL?: string },
  db: DataSource | string,
  log: Logger,
): Promise<AnnouncementBus> {
  const busLog = log.child({ component: 'announcer' });
  let transport;
  let ownPool: pg.Pool | undefined;
  if (config.REDIS_URL) {
    transport = new RedisTransport(config.REDIS_URL, ANNOUNCEMENT_CHANNEL, busLog);
  } else {
    const url = typeof db === 'string' ? db : databaseUrl(db);
    if (typeof db === 'string') {
      ownPool = new pg.Pool({ connectionString: db, max: 2 });
      guardPoolErrors(ownPool, busLog, 'announcer pool');
    }
    const pool = ownPool;
    const query = pool
      ? (sql: string, params: unknown[]) => pool.query(sql, params)
      : (sql: string, params: unknown[]) => (db as DataSource).query(sql, params);
    transport = new PgNotifyTransport({
      url,
      channel: ANNOUNCEMENT_CHANNEL,
      log: busLog,
      notify: async (channel, text) => {
        await query('SELECT pg_notify($1, $2)', [channel, text]);
      },
    });
  }
  const bus = new AnnouncementBus(transport, busLog, async () => {
    await ownPool?.end();
  });
  try {
    await bus.start();
  } catch (err) {
    await bus.close();
    throw err;
  }
  return bus;
}

function databaseUrl(ds: DataSource): string {
  const url = (ds.options as { url?: string }).url;
  if (!url) throw new Error('The announcer needs a DataSource configured with a url');
  return url;
}
