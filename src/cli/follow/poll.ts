/**
 * Following by polling over HTTP, for when the subscription is not served or its WebSocket keeps
 * failing: read, wait, read again, until what is watched has ended. A read that cannot reach the
 * API is retried for as long as the watch waits for a lost connection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../api-client';
import { LostConnection } from './lost-connection';

/** What one read found: the end, more to read at once (a full page), or nothing until later. */
export type PollResult = 'ended' | 'more' | 'later';

export async function pollToEnd(
  readOnce: () => Promise<PollResult>,
  intervalMs: number,
  reconnectMs: number,
): Promise<void> {
  const lost = new LostConnection(reconnectMs);
  for (;;) {
    try {
      const result = await readOnce();
      lost.answered();
      if (result === 'ended') return;
      if (result === 'more') continue;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONNECTION')) throw err;
      lost.failed();
      if (lost.expired) throw lost.giveUp(err);
    }
    await sleep(intervalMs);
  }
}
