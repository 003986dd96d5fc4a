import type { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from '../../common/pg-errors';
import { RunEvent } from './run-event.entity';

/** Rows read per statement while replaying a long history. */
export const REPLAY_PAGE_SIZE = 200;
/**
 * While PostgreSQL is away (restarting), a reader reads again this often instead of failing, and
 * gives up with SERVICE_UNAVAILABLE after OUTAGE_GIVE_UP_MS without an answer.
 */
const OUTAGE_RETRY_MS = 1_000;
const OUTAGE_GIVE_UP_MS = 120_000;

/** Which read an event came from: events of one read may share per-request caches. */
const readOf = new WeakMap<RunEvent, object>();
export const readBatchOf = (event: RunEvent): object | undefined => readOf.get(event);

export interface Page {
  /** False when the run no longer exists. */
  exists: boolean;
  /** The run's event log is closed (run-journal.ts closeEvents): no event will follow. */
  closed: boolean;
  events: RunEvent[];
}

/**
 * Whether the run's log is closed and its next events, in ONE statement, so both come from one
 * snapshot: when the log is closed, every event ever stored is visible to this read, and the
 * stream may end once the pages run dry. (Not the terminal status: the launcher stores the
 * process's last output lines after it.)
 */
export async function readPage(ds: DataSource, runId: number, afterSeq: number): Promise<Page> {
  const rows = await ds.query<Record<string, unknown>[]>(
    `SELECT r.events_closed_at IS NOT NULL AS "__events_closed", e.*
       FROM runs r
       LEFT JOIN LATERAL (
         SELECT * FROM run_events
          WHERE run_id = r.id AND seq > $2
          ORDER BY seq
          LIMIT $3
       ) e ON true
      WHERE r.id = $1
      ORDER BY e.seq`,
    [runId, afterSeq, REPLAY_PAGE_SIZE],
  );
  if (rows.length === 0) return { exists: false, closed: true, events: [] };
  const meta = ds.getMetadata(RunEvent);
  const batch = {};
  const events = rows
    .filter((row) => row.id !== null)
    .map((row) => {
      const event = meta.create() as RunEvent;
      // Mapped through the entity's metadata so columns added later come along by themselves.
      for (const col of meta.columns) {
        if (!col.relationMetadata) col.setEntityValue(event, row[col.databaseName]);
      }
      event.runId = runId;
      readOf.set(event, batch);
      return event;
    });
  return { exists: true, closed: rows[0].__events_closed === true, events };
}

export interface Head {
  /** The highest seq stored (0 when none), or 0 when the run does not exist. */
  lastSeq: number;
  /** Closed, or the run does not exist: lastSeq is final. */
  closed: boolean;
}

/** Where a run's event log ends now, and whether it is closed, from one snapshot. */
export async function readHead(ds: DataSource, runId: number): Promise<Head> {
  const [row] = await ds.query<{ closed: boolean; last: number | null }[]>(
    `SELECT r.events_closed_at IS NOT NULL AS closed,
            (SELECT max(seq) FROM run_events WHERE run_id = r.id) AS last
       FROM runs r
      WHERE r.id = $1`,
    [runId],
  );
  return row ? { lastSeq: row.last ?? 0, closed: row.closed } : { lastSeq: 0, closed: true };
}

/** A logical clock: orders "this reader needs rows committed by now" against "that read was sent". */
let clock = 0;
export const tick = (): number => ++clock;

const inflight = new WeakMap<DataSource, Map<string, { sentAt: number; page: Promise<Page> }>>();

/**
 * readPage, shared by the readers of one run that want the same page: a hundred subscribers
 * joining at once cost one statement, not a hundred. A reader joins only a read sent after
 * `since` (the tick at which it learnt which rows it needs): that read began after those rows'
 * commit, so it sees them; joining an older one could hand it a page from before the commit.
 */
export function sharedReadPage(
  ds: DataSource,
  runId: number,
  afterSeq: number,
  since: number,
): Promise<Page> {
  let reads = inflight.get(ds);
  if (!reads) {
    reads = new Map<string, { sentAt: number; page: Promise<Page> }>();
    inflight.set(ds, reads);
  }
  const key = `${runId}:${afterSeq}`;
  const current = reads.get(key);
  if (current && current.sentAt > since) return current.page;
  const entry = { sentAt: tick(), page: readPage(ds, runId, afterSeq) };
  reads.set(key, entry);
  const forget = () => {
    if (reads.get(key) === entry) reads.delete(key);
  };
  entry.page.then(forget, forget);
  return entry.page;
}

/**
 * `read()`, again and again while the database is away (restarting): every read asks for
 * seq > a position, so reading again once it is back neither loses nor repeats an event.
 * Resolves undefined once `stopped()` holds; rejects after OUTAGE_GIVE_UP_MS without an answer.
 */
export async function readThroughOutage<T>(
  read: () => Promise<T>,
  pause: (ms: number) => Promise<void>,
  stopped: () => boolean,
): Promise<T | undefined> {
  let unavailableSince: number | undefined;
  while (!stopped()) {
    try {
      return await read();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      unavailableSince ??= Date.now();
      if (Date.now() - unavailableSince > OUTAGE_GIVE_UP_MS) throw err;
      await pause(OUTAGE_RETRY_MS);
    }
  }
  return undefined;
}
