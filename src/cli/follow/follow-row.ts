/**
 * Following one stored row (a curriculum, an experiment) to its end through its subscriptions:
 * each round opens them together, re-reads the row over HTTP 1.5 s after subscribing (a change
 * between the first read and the subscription's start) and every 15 s (an announcement lost
 * later), and ends when the row has ended or fails when a stream does. Resubscribing after a
 * failure, and polling when the WebSocket keeps failing, are followSubscription's.
 */
import { type ApiClient, ApiError } from '../api-client';
import { pollToEnd } from './poll';
import { followSubscription } from './reconnecting-subscription';

export interface LiveStream {
  query: string;
  /** The stream's data, shaped as its query asks (the method's parameter narrows it). */
  next(data: never): void;
  /** The stream's name when the server ending it means the connection is lost; else ignored. */
  required?: string;
}

export interface FollowedRow<T> {
  api: ApiClient;
  /** The subscription that carries the row, as the notes name it, e.g. "curriculumUpdated". */
  subscription: string;
  streams: LiveStream[];
  variables: Record<string, unknown>;
  /** How long a lost connection may stay lost before the watch gives up (exit 3). */
  reconnectMs: number;
  /** Reads the row over HTTP. */
  fetch(): Promise<T>;
  /** Shows what changed; calls the function `onEnded` was last given once the row has ended. */
  update(row: T): void;
  ended(): boolean;
  /** Hands the watcher the function that ends the current round (undefined between rounds). */
  onEnded(end: (() => void) | undefined): void;
  line(text: string): void;
}

/** Resolves once the row has ended; rejects as followSubscription does. */
export function followRow<T>(f: FollowedRow<T>): Promise<void> {
  let received = 0;
  /** Re-reads the row; false when the API cannot be reached. */
  const refresh = async (): Promise<boolean> => {
    try {
      f.update(await f.fetch());
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'CONNECTION') return false;
      throw err;
    }
  };
  return followSubscription({
    api: f.api,
    reconnectMs: f.reconnectMs,
    notServed: new RegExp(`Subscription|${f.subscription}`),
    subscription: f.subscription,
    resumeNote: () => 'reconnecting',
    subscribeOnce: () => subscribeUntilEnded(f, refresh, () => (received += 1)),
    received: () => received,
    httpAnswers: refresh,
    poll: () =>
      pollToEnd(
        async () => {
          f.update(await f.fetch());
          return f.ended() ? 'ended' : 'later';
        },
        3000,
        f.reconnectMs,
      ),
    ended: () => f.ended(),
    line: (text) => f.line(text),
  });
}

/** One round: resolves once the row has ended; rejects when a subscription fails. */
function subscribeUntilEnded<T>(
  f: FollowedRow<T>,
  refresh: () => Promise<boolean>,
  count: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stops: (() => void)[] = [];
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(first);
      clearInterval(timer);
      f.onEnded(undefined);
      for (const stop of stops) stop();
      if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
      else resolve();
    };
    f.onEnded(() => settle());
    for (const s of f.streams) {
      stops.push(
        f.api.subscribe<unknown>(s.query, f.variables, {
          next: (data) => {
            count();
            s.next(data as never);
          },
          error: (err) => settle(err),
          complete: () => {
            if (s.required) settle(new ApiError(`the ${s.required} stream ended`, 'CONNECTION'));
          },
        }),
      );
    }
    const check = () => {
      refresh().then(
        () => undefined,
        (err: unknown) => settle(err),
      );
    };
    const first = setTimeout(check, 1500);
    const timer = setInterval(check, 15_000);
  });
}
