import type { DataSource } from 'typeorm';
import type { AnnouncementSource } from '../../common/pubsub/bus';
import { Wakeup } from '../../common/pubsub/wakeup';
import type { RunEvent } from './run-event.entity';
import {
  REPLAY_PAGE_SIZE,
  readHead,
  readPage,
  readThroughOutage,
  tick,
  type Page,
} from './run-event-pages';

/**
 * Re-read even without an announcement this often: a writer that crashed between its commit
 * and its announcement delays its events by at most this, never loses them.
 */
export const POLL_INTERVAL_MS = 15_000;
/**
 * Events a subscriber may have queued and not yet taken. Past it the hub drops that queue and
 * the subscriber reads what it missed from the database itself: a slow consumer costs its own
 * reads, never the hub's memory or the other subscribers' pace.
 */
export const LIVE_QUEUE_LIMIT = 1_000;

/** A live subscriber of one run, as its hub sees it. */
export interface HubMember {
  /** Events the hub read since the member joined (or last overflowed), in seq order. */
  queue: RunEvent[];
  /**
   * The member reads (its position, replayTo] from the database itself before taking its queue:
   * the hub read those before the queue began. Null until the hub knows where the log ends.
   */
  replayTo: number | null;
  /** When replayTo was set (tick()): a read sent after it sees every event up to replayTo. */
  replaySince: number;
  /** The hub ended: the run's log is closed and read to its end, or reading failed (error). */
  ended?: { error?: Error };
  /** Told after any of the above changed. */
  wake(): void;
}

/**
 * One reader of one run's events for every live subscriber of that run in this process: an
 * announcement costs one read, whatever the number of subscribers, and the page it returns is
 * handed to every member's queue. The first member starts it, the last one to leave stops it.
 *
 * Why a member misses nothing: the hub listens before its first read (the head: where the log
 * ends now), and every later read asks for seq > readTo, so every event after the head reaches
 * the members that were there when it was read. A member joining later first reads up to the
 * readTo of its joining itself (replayTo), and the hub's pages after that fill its queue.
 */
class RunEventHub {
  private readonly members = new Set<HubMember>();
  private readonly wake = new Wakeup();
  /** Every event with seq <= readTo has been read; null before the head is known. */
  private readTo: number | null = null;
  private stopped = false;
  private readonly unlisten: () => void;

  constructor(
    private readonly ds: DataSource,
    source: AnnouncementSource,
    private readonly runId: number,
    /** Takes the hub out of the registry: later subscribers start a new one. */
    private readonly retire: () => void,
  ) {
    this.unlisten = source.listen([`runEvents:${runId}`, `runUpdated:${runId}`], (signal) => {
      if (signal.k === 'runEvents' && this.readTo !== null && signal.seq <= this.readTo) return;
      this.wake.notify();
    });
    source.track(this.run());
  }

  join(member: HubMember): void {
    this.members.add(member);
    if (this.readTo !== null) this.setReplay(member);
  }

  leave(member: HubMember): void {
    this.members.delete(member);
    if (this.members.size > 0 || this.stopped) return;
    this.stopped = true;
    this.retire();
    this.wake.notify();
  }

  private setReplay(member: HubMember): void {
    member.replayTo = this.readTo;
    member.replaySince = tick();
    member.wake();
  }

  private read<T>(read: () => Promise<T>): Promise<T | undefined> {
    return readThroughOutage(
      read,
      (ms) => this.wake.wait(ms),
      () => this.stopped,
    );
  }

  private async run(): Promise<void> {
    let error: Error | undefined;
    try {
      const head = await this.read(() => readHead(this.ds, this.runId));
      if (!head) return;
      this.readTo = head.lastSeq;
      for (const member of this.members) this.setReplay(member);
      let closed = head.closed;
      while (!closed && !this.stopped) {
        await this.wake.wait(POLL_INTERVAL_MS);
        let page: Page | undefined;
        do {
          page = await this.read(() => readPage(this.ds, this.runId, this.readTo as number));
          if (!page) return;
          if (page.events.length > 0) this.deliver(page.events);
          closed = !page.exists || (page.closed && page.events.length < REPLAY_PAGE_SIZE);
        } while (!closed && !this.stopped && page.events.length === REPLAY_PAGE_SIZE);
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.unlisten();
      if (!this.stopped) this.retire();
      this.stopped = true;
      const ended = { error };
      for (const member of this.members) {
        member.ended = ended;
        member.wake();
      }
    }
  }

  private deliver(events: RunEvent[]): void {
    this.readTo = events[events.length - 1].seq;
    for (const member of this.members) {
      if (member.queue.length + events.length > LIVE_QUEUE_LIMIT) {
        member.queue = [];
        this.setReplay(member);
      } else {
        for (const event of events) member.queue.push(event);
        member.wake();
      }
    }
  }
}

/** Live hubs, per announcement source and database, per run. */
const hubs = new WeakMap<AnnouncementSource, WeakMap<DataSource, Map<number, RunEventHub>>>();

/**
 * Makes `member` a member of run `runId`'s hub, starting the hub if it is the first; returns
 * how to leave (the last member to leave stops the hub). Registration is synchronous.
 */
export function joinRunEvents(
  ds: DataSource,
  source: AnnouncementSource,
  runId: number,
  member: HubMember,
): () => void {
  let byDs = hubs.get(source);
  if (!byDs) hubs.set(source, (byDs = new WeakMap<DataSource, Map<number, RunEventHub>>()));
  let byRun = byDs.get(ds);
  if (!byRun) byDs.set(ds, (byRun = new Map<number, RunEventHub>()));
  const runs = byRun;
  let hub = runs.get(runId);
  if (!hub) {
    const created: RunEventHub = new RunEventHub(ds, source, runId, () => {
      if (runs.get(runId) === created) runs.delete(runId);
    });
    runs.set(runId, created);
    hub = created;
  }
  const joined = hub;
  joined.join(member);
  return () => joined.leave(member);
}
