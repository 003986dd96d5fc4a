import pg from 'pg';
import type { Logger } from 'pino';
import type { AnnouncementTransport, TransportHandlers } from './transport';

/** Announcements on Postgres LISTEN/NOTIFY: no other service to run, and it spans replicas. */
export interface PgTransportOptions {
  /** The database to LISTEN on: the one connection this process keeps for it. */
  url: string;
  /** Sends NOTIFY; the pool's connections do this, so a dropped listener does not stop writers. */
  notify(channel: string, text: string): Promise<void>;
  channel: string;
  log: Logger;
}

const MAX_BACKOFF_MS = 5_000;

export class PgNotifyTransport implements AnnouncementTransport {
  private client?: pg.Client;
  private handlers?: TransportHandlers;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: PgTransportOptions) {}

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    this.client = await this.connect();
  }

  publish(text: string): Promise<void> {
    return this.opts.notify(this.opts.channel, text);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.opts.url,
      application_name: 'stagewise-listen',
      // A half-open TCP connection would otherwise look alive and swallow every NOTIFY.
      keepAlive: true,
    });
    client.on('notification', (n) => {
      if (n.channel === this.opts.channel && n.payload) this.handlers?.message(n.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      // The channel is a fixed identifier of ours, never user input.
      await client.query(`LISTEN ${this.opts.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  /** The listening connection died: reconnect with backoff, then have everyone re-read. */
  private lost(client: pg.Client, err?: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.opts.log.warn({ err }, 'announcement listener lost its connection; reconnecting');
    client.end().catch(() => undefined);
    this.reconnect(new Date(), 1);
  }

  private reconnect(lostAt: Date, attempt: number): void {
    const delay = Math.min(100 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    this.retry = setTimeout(() => {
      this.connect().then(
        (client) => {
          if (this.closed) {
            client.end().catch(() => undefined);
            return;
          }
          this.client = client;
          this.opts.log.info({ attempt }, 'announcement listener reconnected');
          this.handlers?.resync(lostAt);
        },
        (err: unknown) => {
          if (this.closed) return;
          this.opts.log.warn({ err, attempt }, 'announcement listener still cannot reconnect');
          this.reconnect(lostAt, attempt + 1);
        },
      );
    }, delay);
  }
}
