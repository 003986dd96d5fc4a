import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AnnouncementTransport, TransportHandlers } from './transport';

/**
 * How long a PUBLISH may take on a live connection. Announcements are sent after the writer's
 * commit, so a slow Redis must cost the writer at most this, never a hung request.
 */
const PUBLISH_TIMEOUT_MS = 1_000;

/**
 * Announcements on Redis pub/sub (REDIS_URL). One fixed channel, subscribed once at start and
 * awaited, rather than @graphql-yoga/redis-event-target's channel per topic: that one subscribes
 * lazily without a promise to wait on, so a message sent between "start listening" and Redis
 * acknowledging the SUBSCRIBE would be lost, which is the one gap a replay-then-live stream
 * cannot have.
 *
 * While Redis is down, PUBLISH fails at once (no offline queue): the events are stored already,
 * and subscribers re-read everything from the database when the listener is back (a resync).
 */
export class RedisTransport implements AnnouncementTransport {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private lostAt?: Date;
  private closed = false;

  constructor(
    url: string,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    this.publisher = new Redis(url, {
      lazyConnect: true,
      connectionName: 'stagewise-publish',
      // The default queues commands while disconnected and retries each up to 20 reconnects:
      // a writer awaiting its announcement then hangs for as long as Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: PUBLISH_TIMEOUT_MS,
    });
    this.subscriber = new Redis(url, { lazyConnect: true, connectionName: 'stagewise-listen' });
    // ioredis reconnects by itself; errors are reported, not thrown.
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (err: Error) => this.log.warn({ err }, 'redis connection error'));
    }
  }

  async start(handlers: TransportHandlers): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) handlers.message(text);
    });
    await this.subscriber.subscribe(this.channel);
    this.subscriber.on('close', () => {
      if (!this.closed) this.lostAt ??= new Date();
    });
    // ioredis emits 'ready' before its own re-SUBSCRIBE is answered, so a resync at 'ready' could
    // read the database before messages reach us again, and miss one published in between.
    // Subscribing once more and waiting for the reply (it comes after ioredis's, on the same
    // connection) means the listener is back before subscribers re-read.
    this.subscriber.on('ready', () => {
      if (!this.lostAt || this.closed) return;
      const lostAt = this.lostAt;
      this.subscriber.subscribe(this.channel).then(
        () => {
          if (this.closed || this.lostAt !== lostAt) return;
          this.lostAt = undefined;
          this.log.info('redis listener reconnected');
          handlers.resync(lostAt);
        },
        // The connection dropped again before the reply: the next 'ready' tries again.
        (err: unknown) => this.log.warn({ err }, 'redis listener could not resubscribe'),
      );
    });
  }

  async publish(text: string): Promise<void> {
    await this.publisher.publish(this.channel, text);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }
}
