/**
 * Where announcements travel between API processes. A transport carries opaque text on one
 * channel; the bus above it decodes and fans out. Two exist: Postgres LISTEN/NOTIFY (default)
 * and Redis pub/sub (REDIS_URL).
 */
export interface AnnouncementTransport {
  /** Starts listening; resolves once messages published from now on will be received. */
  start(handlers: TransportHandlers): Promise<void>;
  publish(text: string): Promise<void>;
  close(): Promise<void>;
}

export interface TransportHandlers {
  message(text: string): void;
  /**
   * The listening side was down and is back: messages may have been lost in between, so every
   * subscriber must re-read what it has not yet sent. `lostAt` is when the drop was noticed.
   */
  resync(lostAt: Date): void;
}
