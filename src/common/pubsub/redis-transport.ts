import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AnnouncementTransport, TransportHandlers } from './transport';

/**
 * Announcements on Redis pub/sub (REDIS_URL). One fixed channel, subscribed once at start and
 * awaited, rather than @graphql-yoga/redis-event-target's channel per topic: that one subscribes
 * lazily without a promise to wait on, so a message sent between "start listening" and Redis
 * acknowledging the SUBSCRIBE would be lost, which is the one gap a replay-then-live stream
 * cannot have.
 */
export class RedisTransport implements AnnouncementTransport {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private lostAt?: Date;

  constructor(
    url: string,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    this.publisher = new Redis(url, { lazyConnect: true, connectionName: 'stagewise-publish' });
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
      this.lostAt ??= new Date();
    });
    // ioredis re-sends SUBSCRIBE before 'ready'; what was published while down is lost.
    this.subscriber.on('ready', () => {
      if (!this.lostAt) return;
      const lostAt = this.lostAt;
      this.lostAt = undefined;
      this.log.info('redis listener reconnected');
      handlers.resync(lostAt);
    });
  }

  async publish(text: string): Promise<void> {
    await this.publisher.publish(this.channel, text);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }
}
