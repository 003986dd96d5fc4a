import { Repeater } from '@graphql-yoga/subscription';
import type { DataSource } from 'typeorm';
import type { AnnouncementSource } from '../../common/pubsub/bus';
import { Wakeup } from '../../common/pubsub/wakeup';
import { isDatabaseUnavailable } from '../../common/pg-errors';
import { RunEvent } from './run-event.entity';

/** Rows read per statement while replaying a long history. */
export const REPLAY_PAGE_SIZE = 200;
/**
 * Re-read even without an announcement this often: a writer that crashed between its commit
 * and its announcement delays its events by at most this, never loses them.
 */
export const POLL_INTERVAL_MS = 15_000;
/**
 * While PostgreSQL is away (restarting), a stream reads again this often instead of failing, and
 * gives up with SERVICE_UNAVAILABLE after OUTAGE_GIVE_UP_MS without an answer.
 */
const OUTAGE_RETRY_MS = 1_000;
const OUTAGE_GIVE_UP_MS = 120_000;

/** Which read an event came from: events of one read may share per-request caches. */
const readOf = new WeakMap<RunEvent, object>();
export const readBatchOf = (event: RunEvent): object | undefined => readOf.get(event);

interface Page {
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
async function readPage(ds: DataSource, runId: number, afterSeq: number): Promise<Page> {
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

/** A logical clock: orders "this reader was woken" against "that read was sent". */
let clock = 0;
const tick = () => ++clock;

const inflight = new WeakMap<DataSource, Map<string, { sentAt: number; page: Promise<Page> }>>();

/**
 * readPage, shared by the readers of one run that want the same page: a hundred subscribers
 * woken by one announcement cost one statement, not a hundred. A reader joins only a read sent
 * after it was woken (`wokenAt`): that read began after the announced commit, so it sees the
 * rows; joining an older one could hand it a page from before the commit, and it would wait.
 */
function sharedReadPage(
  ds: DataSource,
  runId: number,
  afterSeq: number,
  wokenAt: number,
): Promise<Page> {
  let reads = inflight.get(ds);
  if (!reads) {
    reads = new Map<string, { sentAt: number; page: Promise<Page> }>();
    inflight.set(ds, reads);
  }
  const key = `${runId}:${afterSeq}`;
  const current = reads.get(key);
  if (current && current.sentAt > wokenAt) return current.page;
  const entry = { sentAt: tick(), page: readPage(ds, runId, afterSeq) };
  reads.set(key, entry);
  const forget = () => {
    if (reads.get(key) === entry) reads.delete(key);
  };
  entry.page.then(forget, forget);
  return entry.page;
}

/**
 * A run's events with seq > afterSeq, in seq order, each exactly once: first the stored ones,
 * then new ones as they are committed; it ends once the run's log is closed and everything was
 * sent, so a live stream and a later replay of the same run are identical.
 *
 * Why there is no gap: the listener is registered before the first read, every read asks the
 * database for seq > lastSent (announcements only wake the reader, their seq is a hint), and a
 * wake-up during a read is remembered. Why there is no duplicate: lastSent only grows, and rows
 * come back ordered by the (run_id, seq) unique key.
 */
export function runEventStream(
  ds: DataSource,
  source: AnnouncementSource,
  runId: number,
  afterSeq: number,
): AsyncIterableIterator<RunEvent> {
  return new Repeater<RunEvent>(async (push, stop) => {
    let lastSent = afterSeq;
    let stopped = false;
    void stop.then(() => (stopped = true));
    const wake = new Wakeup();
    let wokenAt = tick();
    const unlisten = source.listen([`runEvents:${runId}`, `runUpdated:${runId}`], (signal) => {
      if (signal.k === 'runEvents' && signal.seq <= lastSent) return;
      wokenAt = tick();
      wake.notify();
    });
    const work = (async () => {
      try {
        let unavailableSince: number | undefined;
        while (!stopped) {
          let page: Page;
          try {
            page = await sharedReadPage(ds, runId, lastSent, wokenAt);
            unavailableSince = undefined;
          } catch (err) {
            // The database restarting: every read asks for seq > lastSent, so reading again
            // once it is back neither loses nor repeats an event.
            if (!isDatabaseUnavailable(err)) throw err;
            unavailableSince ??= Date.now();
            if (Date.now() - unavailableSince > OUTAGE_GIVE_UP_MS) throw err;
            await wake.wait(OUTAGE_RETRY_MS, stop);
            continue;
          }
          for (const event of page.events) {
            if (stopped) return;
            lastSent = event.seq;
            await push(event);
          }
          if (!page.exists) return; // the run was deleted: nothing more will come
          if (page.events.length === REPLAY_PAGE_SIZE) continue;
          if (page.closed) return;
          await wake.wait(POLL_INTERVAL_MS, stop);
        }
      } finally {
        unlisten();
      }
    })();
    source.track(work);
    await work.then(
      () => stop(),
      (err: unknown) => stop(err),
    );
  });
}
