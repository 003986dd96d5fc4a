import { Repeater } from '@graphql-yoga/subscription';
import {
  In,
  type DataSource,
  type EntityTarget,
  type FindOptionsOrder,
  type FindOptionsWhere,
} from 'typeorm';
import type { AnnouncementSource } from './bus';
import { Wakeup } from './wakeup';

/** No periodic re-read: a row stream only reacts to announcements and resyncs. */
const NEVER_MS = 2_147_483_647;
/** Rows whose last sent state is remembered, to skip re-sending an unchanged row. */
const REMEMBERED = 1_000;

export interface LiveRowsOptions<T> {
  /** Topics whose announcements name a row id to re-read. */
  topics: string[];
  /** Whether an announced id is of interest at all (cheap, before any read). */
  wants(id: number): boolean;
  /** The rows to emit for these ids, read fresh from the database, already filtered. */
  load(ids: number[]): Promise<T[]>;
  /** After the listener was down: ids that may have changed since `lostAt`. */
  changedSince(lostAt: Date): Promise<number[]>;
  idOf(row: T): number;
}

/**
 * Rows emitted fresh from the database whenever they are announced as changed. Announcements
 * that arrive while a read is under way are coalesced into the next read, so a burst of updates
 * to one row costs one read and the subscriber always gets the latest state. A read can see a
 * change before its own announcement arrives, so a row identical to the one last sent is skipped.
 */
export function liveRows<T>(
  source: AnnouncementSource,
  opts: LiveRowsOptions<T>,
): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => (stopped = true));
    const wake = new Wakeup();
    const pending = new Set<number>();
    const sent = new Map<number, string>();
    const isNew = (row: T): boolean => {
      const id = opts.idOf(row);
      const state = JSON.stringify(row);
      if (sent.get(id) === state) return false;
      sent.delete(id); // re-inserted last: the Map's order is least recently sent first
      sent.set(id, state);
      if (sent.size > REMEMBERED) sent.delete(sent.keys().next().value as number);
      return true;
    };
    let lostAt: Date | undefined;
    const unlisten = source.listen(opts.topics, (signal) => {
      if (signal.k === 'resync') {
        lostAt = lostAt && lostAt < signal.lostAt ? lostAt : signal.lostAt;
      } else if (opts.wants(signal.id)) {
        pending.add(signal.id);
      } else {
        return;
      }
      wake.notify();
    });
    const work = (async () => {
      try {
        while (!stopped) {
          await wake.wait(NEVER_MS, stop);
          if (stopped) return;
          const ids = [...pending];
          pending.clear();
          if (lostAt) {
            const since = lostAt;
            lostAt = undefined;
            ids.push(...(await opts.changedSince(since)).filter((id) => opts.wants(id)));
          }
          if (ids.length === 0) continue;
          for (const row of await opts.load([...new Set(ids)])) {
            if (stopped) return;
            if (isNew(row)) await push(row);
          }
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

/** Clock skew allowed between this process and the database when asking "changed since". */
const RESYNC_MARGIN_MS = 5_000;

/** The earliest `updated_at` a resync after a drop at `lostAt` must re-read from. */
export const changedSinceCutoff = (lostAt: Date) => new Date(lostAt.getTime() - RESYNC_MARGIN_MS);

/**
 * One table's rows as stored, each time `<topic>:<id>` is announced: of row `only`, or of every
 * row (on `<topic>`) when null. The stream behind curriculumUpdated and experimentUpdated.
 */
export function liveRowsById<T extends { id: number }>(
  ds: DataSource,
  source: AnnouncementSource,
  entity: EntityTarget<T>,
  topic: string,
  only: number | null,
): AsyncIterableIterator<T> {
  const rows = ds.getRepository(entity);
  const table = rows.metadata.tableName;
  return liveRows<T>(source, {
    topics: [only === null ? topic : `${topic}:${only}`],
    wants: (id) => only === null || id === only,
    idOf: (row) => row.id,
    load: (ids) =>
      rows.find({
        where: { id: In(ids) } as FindOptionsWhere<T>,
        order: { id: 'ASC' } as FindOptionsOrder<T>,
      }),
    changedSince: async (lostAt) =>
      only !== null
        ? [only]
        : (
            await ds.query<{ id: number }[]>(`SELECT id FROM ${table} WHERE updated_at >= $1`, [
              changedSinceCutoff(lostAt),
            ])
          ).map((r) => r.id),
  });
}
