/**
 * Helpers for the subscription tests and the latency benchmark: clients on both transports, a
 * collector that records what a subscription delivers, and writes that go through the same
 * path as the runner's (store, then announce).
 */
import WebSocket from 'ws';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import type { RunningServer } from '../../src/app/server';
import type { Ref, RunStatus } from './seed';
import type { TestServer } from './test-server';

export const RUN_EVENTS = `subscription($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { id seq type payload run { id status } }
}`;

export const RUN_UPDATED = `subscription($filter: RunUpdatedFilter) {
  runUpdated(filter: $filter) { id status stage }
}`;

/** A graphql-ws client that fails instead of retrying, so refusals show up in the test. */
export function wsClient(
  baseUrl: string,
  key: string | null,
  extra: { onClose?: (code: number) => void } = {},
): WsClient {
  return createWsClient({
    url: baseUrl.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: key ? { Authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    on: {
      closed: (event) => extra.onClose?.((event as { code: number }).code),
    },
  });
}

export function sseClient(baseUrl: string, key: string | null): SseClient {
  return createSseClient({
    url: baseUrl + '/graphql/stream',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    fetchFn: fetch,
    retryAttempts: 0,
  });
}

interface Subscribable {
  subscribe(
    payload: { query: string; variables?: Record<string, unknown> },
    sink: { next(v: any): void; error(e: unknown): void; complete(): void },
  ): () => void;
}

export interface Collected<T> {
  items: T[];
  errors: any[];
  /** Resolves at completion (or refusal, see errors), rejects on a transport error. */
  done: Promise<void>;
  completed: () => boolean;
  /** Waits until `ok(items)` holds (or the stream ends), failing after `ms`. */
  until(ok: (items: T[]) => boolean, ms?: number): Promise<void>;
  stop(): void;
}

/** Subscribes and records every `data[field]` delivered, in order. */
export function collect<T = any>(
  client: Subscribable,
  field: string,
  query: string,
  variables: Record<string, unknown>,
): Collected<T> {
  const items: T[] = [];
  const errors: any[] = [];
  const waiters = new Set<() => void>();
  let completed = false;
  const poke = () => waiters.forEach((w) => w());
  let stop = () => undefined as void;
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe(
      { query, variables },
      {
        next: (v: { data?: Record<string, T>; errors?: any[] }) => {
          if (v.errors) errors.push(...v.errors);
          if (v.data?.[field] != null) items.push(v.data[field]);
          poke();
        },
        error: (e) => {
          completed = true;
          poke();
          // An array is the operation's GraphQL errors (refused before it started); anything
          // else is the transport failing (a close event, an HTTP error).
          if (Array.isArray(e)) {
            errors.push(...(e as unknown[]));
            resolve();
          } else {
            reject(Object.assign(new Error('subscription transport failed'), { cause: e }));
          }
        },
        complete: () => {
          completed = true;
          poke();
          resolve();
        },
      },
    );
  });
  done.catch(() => undefined);
  const until = (ok: (items: T[]) => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (ok(items) || completed || errors.length) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out; got ${JSON.stringify(items).slice(0, 500)} ${JSON.stringify(errors)}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return { items, errors, done, completed: () => completed, until, stop: () => stop() };
}

export const seqsOf = (items: { seq: number }[]) => items.map((e) => e.seq);
export const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Stores events with these seqs, then announces them on `via` (the writer's process). */
export async function appendEvents(
  t: TestServer,
  run: Ref,
  seqs: number[],
  via: RunningServer = t.server,
): Promise<void> {
  // One statement for any number of events (the benchmark writes many).
  await t.server.ds.query(
    `INSERT INTO run_events (run_id, seq, type, payload)
     SELECT $1, s, 'LOG', jsonb_build_object('seq', s) FROM unnest($2::int[]) AS s`,
    [run.pk, seqs],
  );
  await via.announcer.runEvents(Number(run.pk), Math.max(...seqs));
}

const ENDED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/**
 * Ends a run as the journal and the supervisor do: its last (STATUS) event, the status change
 * and the closing of its event log in one transaction, then both announced.
 */
export async function finishRun(
  t: TestServer,
  run: Ref,
  seq: number,
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
  via: RunningServer = t.server,
): Promise<void> {
  await t.server.ds.transaction(async (m) => {
    await m.query(
      `INSERT INTO run_events (run_id, seq, type, payload) VALUES ($1, $2, 'STATUS', $3)`,
      [run.pk, seq, JSON.stringify({ status })],
    );
    await m.query(
      'UPDATE runs SET status = $2, events_closed_at = now(), updated_at = now() WHERE id = $1',
      [run.pk, status],
    );
  });
  await via.announcer.runEvents(Number(run.pk), seq);
  await via.announcer.runUpdated(Number(run.pk));
}

/**
 * Moves a run's status with SQL, then announces the update. An ended status closes the run's
 * event log too, as the supervisor does once the process is gone, unless `closeLog` is false.
 */
export async function setRunStatus(
  t: TestServer,
  run: Ref,
  status: RunStatus,
  via: RunningServer = t.server,
  closeLog = true,
): Promise<void> {
  const close = closeLog && ENDED.includes(status);
  await t.server.ds.query(
    `UPDATE runs SET status = $2, updated_at = now()${close ? ', events_closed_at = now()' : ''}
     WHERE id = $1`,
    [run.pk, status],
  );
  await via.announcer.runUpdated(Number(run.pk));
}
