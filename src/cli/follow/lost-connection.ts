/**
 * How long the API has been out of reach, against how long a watch waits for it to come back
 * (--reconnect-timeout) before giving up with a CONNECTION error (exit 3).
 */
import { ApiError } from '../api-client';

export class LostConnection {
  private since: number | undefined;

  constructor(private readonly graceMs: number) {}

  /** The API answered (or delivered events): the next failure starts the wait anew. */
  answered(): void {
    this.since = undefined;
  }

  /** Counts a failure: the wait starts at the first one since the API last answered. */
  failed(): void {
    this.since ??= Date.now();
  }

  /** Whether the connection has been lost for longer than the watch waits. */
  get expired(): boolean {
    return this.since !== undefined && Date.now() - this.since > this.graceMs;
  }

  /** The error a watch ends with once it has waited long enough: `err`, and for how long. */
  giveUp(err: ApiError): ApiError {
    return new ApiError(
      `${err.message}; gave up after ${Math.round(this.graceMs / 1000)}s`,
      'CONNECTION',
    );
  }
}
