/**
 * Following a subscription through dropped connections: resubscribe with back-off (0.5 s
 * doubling to 5 s), poll instead when the subscription is not served or the WebSocket keeps
 * failing while HTTP answers, give up after the reconnect timeout (exit 3).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, ApiError } from '../api-client';
import { clock } from '../commands/output';
import { LostConnection } from './lost-connection';

export interface Followed {
  api: ApiClient;
  /** How long a lost connection may stay lost before the watch gives up (exit 3). */
  reconnectMs: number;
  /** The server's error when it does not serve the subscription, e.g. /runEvents|Subscription/. */
  notServed: RegExp;
  /** The subscription as the note says it is not available, e.g. "runEvents subscription". */
  subscription: string;
  /** "polling <pollTarget> instead" when the WebSocket keeps failing, e.g. "run.events". */
  pollTarget?: string;
  /** The end of the "connection lost" line, e.g. "resuming after seq 12". */
  resumeNote(): string;
  /** One subscription: resolves when the watched thing has ended, rejects when it fails. */
  subscribeOnce(): Promise<void>;
  /** A count that grows with every event handled: a drop after events starts the back-off anew. */
  received(): number;
  /** Whether the API still answers over HTTP. */
  httpAnswers(): Promise<boolean>;
  /** Follows by polling instead, to the end. */
  poll(): Promise<void>;
  /** Whether the watched thing has ended (read after each back-off); never, when left out. */
  ended?(): boolean;
  line(text: string): void;
}

/** The subscription, resubscribed after each drop; polls when it is not served or keeps failing. */
export async function followSubscription(f: Followed): Promise<void> {
  const lost = new LostConnection(f.reconnectMs);
  let failuresWithoutEvents = 0;
  let delay = 500;
  for (;;) {
    const receivedBefore = f.received();
    try {
      await f.subscribeOnce();
      return;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'BAD_USER_INPUT' && f.notServed.test(err.message)) {
        f.line(`(${f.subscription} not available: ${err.message}; polling)`);
        return f.poll();
      }
      if (err.code !== 'CONNECTION') throw err;
      await f.api.close();
      if (f.received() > receivedBefore) {
        lost.answered();
        failuresWithoutEvents = 0;
        delay = 500;
      }
      lost.failed();
      failuresWithoutEvents += 1;
      // The API answers over HTTP but the WebSocket keeps failing: poll instead.
      if (failuresWithoutEvents >= 3 && (await f.httpAnswers())) {
        const target = f.pollTarget ? `${f.pollTarget} ` : '';
        f.line(`(subscription unavailable: ${err.message}; polling ${target}instead)`);
        return f.poll();
      }
      if (lost.expired) throw lost.giveUp(err);
      f.line(`[${clock()}] connection lost (${err.message}); ${f.resumeNote()}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
      if (f.ended?.()) return;
    }
  }
}
