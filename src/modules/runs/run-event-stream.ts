import type { DataSource } from 'typeorm';
import type { AnnouncementSource } from '../../common/pubsub/bus';
import { Wakeup } from '../../common/pubsub/wakeup';
import { EventOutlet } from './event-outlet';
import { joinRunEvents, type HubMember } from './run-event-hub';
import { REPLAY_PAGE_SIZE, readThroughOutage, sharedReadPage } from './run-event-pages';
import type { RunEvent } from './run-event.entity';

export { readBatchOf } from './run-event-pages';
export { POLL_INTERVAL_MS } from './run-event-hub';

/**
 * A run's events with seq > afterSeq, in seq order, each exactly once: first the stored ones,
 * then new ones as they are committed; it ends once the run's log is closed and everything was
 * sent, so a live stream and a later replay of the same run are identical.
 *
 * The stream is a member of its run's hub (run-event-hub.ts), which reads once per announcement
 * for every subscriber of the run. It reads the events the hub read before it joined (or while
 * it was too slow to keep a queue) from the database itself, then takes the hub's pages.
 *
 * Why there is no gap: the hub hands over every event after the replayTo it gave this stream,
 * and this stream reads up to replayTo with a read sent after replayTo was set. Why there is no
 * duplicate: the position only grows, and only events with seq > position are sent.
 */
export function runEventStream(
  ds: DataSource,
  source: AnnouncementSource,
  runId: number,
  afterSeq: number,
): AsyncIterableIterator<RunEvent> {
  const wake = new Wakeup();
  let stopped = false;
  let work: Promise<void> = Promise.resolve();
  const outlet = new EventOutlet<RunEvent>(async () => {
    stopped = true;
    wake.notify();
    await work.catch(() => undefined);
  });
  /** Every event with seq <= position was sent, or does not exist. */
  let position = afterSeq;
  /** The loop below waits for a wake-up with nothing to do (no replay, no queue, not ended). */
  let idle = false;
  const send = (events: RunEvent[]) => {
    for (const event of events) {
      if (event.seq <= position) continue;
      position = event.seq;
      outlet.put(event);
    }
  };
  const member: HubMember = {
    queue: [],
    replayTo: null,
    replaySince: 0,
    wake: () => {
      // The hub's fan-out: while the loop idles with a consumer that has taken everything,
      // the new events go to the consumer here, in the hub's own loop over its members: the
      // step the loop would take, without a wake-up and a turn of it per subscriber. Anything
      // else (a replay to do, the end, a backlog) is the loop's.
      const replayTo = member.replayTo;
      if (
        idle &&
        !stopped &&
        member.ended === undefined &&
        replayTo !== null &&
        replayTo <= position &&
        outlet.backlog === 0
      ) {
        const queued = member.queue;
        member.queue = [];
        send(queued);
        return;
      }
      wake.notify();
    },
  };
  const leave = joinRunEvents(ds, source, runId, member);
  work = (async () => {
    try {
      while (!stopped) {
        const replayTo = member.replayTo;
        if (replayTo !== null && replayTo > position) {
          const since = member.replaySince;
          const page = await readThroughOutage(
            () => sharedReadPage(ds, runId, position, since),
            (ms) => wake.wait(ms),
            () => stopped,
          );
          if (!page || stopped) return;
          send(page.events);
          await outlet.drained();
          if (!page.exists) return; // the run was deleted: nothing more will come
          // A short page sent after replayTo was set holds every event up to it: any seq
          // below replayTo still missing does not exist (and must not be waited for).
          if (page.events.length < REPLAY_PAGE_SIZE && member.replaySince === since) {
            position = Math.max(position, replayTo);
          }
          continue;
        }
        if (member.queue.length > 0) {
          const queued = member.queue;
          member.queue = [];
          send(queued);
          await outlet.drained();
          continue;
        }
        if (member.ended) {
          if (member.ended.error !== undefined) throw member.ended.error;
          return;
        }
        idle = true;
        try {
          await wake.wait();
        } finally {
          idle = false;
        }
        // Events handed over while idle may still be with the consumer: wait for it to take
        // them before taking more (the hub keeps the rest in its queue, under its limit).
        await outlet.drained();
      }
    } finally {
      leave();
    }
  })();
  source.track(work);
  void work.then(
    () => outlet.finish(),
    (err: unknown) => outlet.finish(err),
  );
  return outlet;
}
