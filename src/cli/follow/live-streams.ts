/**
 * One round of a watch that follows a stored thing (a curriculum, an experiment) through its
 * subscriptions: they open together, the thing is re-read over HTTP 1.5 s after subscribing (a
 * change between the first read and the subscription's start) and every 15 s (an announcement
 * lost later), and the round ends when the thing has ended or fails when a stream does.
 * Resubscribing after a failure is followSubscription's (reconnecting-subscription.ts).
 */
import { type ApiClient, ApiError } from '../api-client';

export interface LiveStream {
  query: string;
  /** The stream's data, shaped as its query asks (the method's parameter narrows it). */
  next(data: never): void;
  /** The stream's name when the server ending it means the connection is lost; else ignored. */
  required?: string;
}

export interface LiveStreams {
  api: ApiClient;
  variables: Record<string, unknown>;
  streams: LiveStream[];
  /** Re-reads the thing over HTTP (and shows what changed); rejects when it cannot. */
  refresh(): Promise<unknown>;
  /** Hands the watcher the function that ends the round, to call once the thing has ended. */
  onEnded(end: (() => void) | undefined): void;
  /** Every event received, before it is handled (a drop after some restarts the back-off). */
  received(): void;
}

/** Resolves once `onEnded`'s function is called; rejects when a subscription fails. */
export function subscribeUntilEnded(f: LiveStreams): Promise<void> {
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
            f.received();
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
      f.refresh().then(
        () => undefined,
        (err: unknown) => settle(err),
      );
    };
    const first = setTimeout(check, 1500);
    const timer = setInterval(check, 15_000);
  });
}
