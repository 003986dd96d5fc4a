import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { Announcer } from './announcer';
import {
  RESYNC_TOPIC,
  decodeAnnouncement,
  encodeAnnouncement,
  topicsOf,
  type Announcement,
} from './announcement';
import type { AnnouncementTransport } from './transport';

/** What a listener is told: an announcement, or a resync (re-read everything not yet sent). */
export type Signal = Announcement | { k: 'resync'; lostAt: Date };

/** The listening half of the bus: what subscription resolvers use. */
export interface AnnouncementSource {
  /**
   * Calls `onSignal` for every announcement on these topics, and for every resync, from now
   * until the returned function is called. Registration is synchronous and the transport is
   * already listening, so anything committed and announced after this call is seen.
   */
  listen(topics: string[], onSignal: (s: Signal) => void): () => void;
  /** A live stream's work: close() waits for it, so no read outlives the connection pool. */
  track(work: Promise<unknown>): void;
}

/** Topic-keyed publish args, for the type-graphql pubSub built over the same fan-out. */
export type AnnouncementTopics = {
  runEvents: [runId: number, a: Announcement];
  runUpdated: [a: Announcement];
  curriculumUpdated: [a: Announcement];
  experimentUpdated: [a: Announcement];
};

/**
 * Local fan-out as an EventTarget, so createPubSub (and type-graphql's buildSchema) can sit on
 * it: dispatching an announcement publishes it to every process; delivery comes back through
 * the transport, like anyone else's.
 */
class FanOut extends EventTarget {
  constructor(private readonly publish: (a: Announcement) => Promise<void>) {
    super();
    // One listener per live subscription: hundreds on one run's topic are normal, not a leak.
    setMaxListeners(0, this);
  }

  override dispatchEvent(event: Event): boolean {
    const detail: unknown = (event as CustomEvent<unknown>).detail;
    const a = detail === undefined ? undefined : decodeAnnouncement(JSON.stringify(detail));
    if (a) void this.publish(a);
    return true;
  }

  deliver(topic: string, signal: Signal): void {
    super.dispatchEvent(new CustomEvent(topic, { detail: signal }));
  }
}

const CLOSE_GRACE_MS = 5_000;
/** At most one warning per interval about announcements that could not be published. */
const PUBLISH_WARNING_INTERVAL_MS = 10_000;

/** Publishes announcements to all API processes and fans received ones out to local readers. */
export class AnnouncementBus implements Announcer, AnnouncementSource {
  private readonly fanOut = new FanOut((a) => this.publish(a));
  private readonly work = new Set<Promise<unknown>>();
  private failedPublishes = 0;
  private lastPublishWarning = 0;
  readonly pubSub: PubSub<AnnouncementTopics> = createPubSub<AnnouncementTopics>({
    eventTarget: this.fanOut,
  });

  constructor(
    private readonly transport: AnnouncementTransport,
    private readonly log: Logger,
    /** Releases what the transport's creator opened for it (a NOTIFY pool of its own). */
    private readonly release: () => Promise<void> = () => Promise.resolve(),
  ) {}

  start(): Promise<void> {
    return this.transport.start({
      message: (text) => {
        const a = decodeAnnouncement(text);
        if (!a) return this.log.debug({ text }, 'ignored a malformed announcement');
        for (const topic of topicsOf(a)) this.fanOut.deliver(topic, a);
      },
      resync: (lostAt) => this.fanOut.deliver(RESYNC_TOPIC, { k: 'resync', lostAt }),
    });
  }

  runEvents(runId: number, lastSeq: number): Promise<void> {
    return this.publish({ k: 'runEvents', id: runId, seq: lastSeq });
  }

  runUpdated(runId: number): Promise<void> {
    return this.publish({ k: 'runUpdated', id: runId });
  }

  curriculumUpdated(curriculumId: number): Promise<void> {
    return this.publish({ k: 'curriculumUpdated', id: curriculumId });
  }

  experimentUpdated(experimentId: number): Promise<void> {
    return this.publish({ k: 'experimentUpdated', id: experimentId });
  }

  apiKeyChanged(keyId: number): Promise<void> {
    return this.publish({ k: 'apiKeyChanged', id: keyId });
  }

  /**
   * Never rejects: the writer's data is committed already, and a lost announcement only delays
   * readers until their next resync or poll. Failing the writer's request would be worse.
   */
  private async publish(a: Announcement): Promise<void> {
    try {
      await this.transport.publish(encodeAnnouncement(a));
    } catch (err) {
      this.failedPublishes += 1;
      // While the transport is down every write fails to announce: one line per interval, not
      // one per event, says so without flooding the log.
      const now = Date.now();
      if (now - this.lastPublishWarning < PUBLISH_WARNING_INTERVAL_MS) return;
      this.lastPublishWarning = now;
      this.log.warn(
        { err, announcement: a, failed: this.failedPublishes },
        'could not publish announcements',
      );
      this.failedPublishes = 0;
    }
  }

  listen(topics: string[], onSignal: (s: Signal) => void): () => void {
    const handler = (e: Event) => onSignal((e as CustomEvent<Signal>).detail);
    const all = [...topics, RESYNC_TOPIC];
    for (const t of all) this.fanOut.addEventListener(t, handler);
    return () => {
      for (const t of all) this.fanOut.removeEventListener(t, handler);
    };
  }

  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.work.add(settled);
    void settled.then(() => this.work.delete(settled));
  }

  /** After the transports stopped their subscriptions: waits for live reads, then disconnects. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.work),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    await this.transport.close();
    await this.release();
  }
}

/** For processes that neither publish nor serve subscriptions (CLI tools): hears nothing. */
export const offlineAnnouncements: Announcer & AnnouncementSource = {
  runEvents: () => Promise.resolve(),
  runUpdated: () => Promise.resolve(),
  curriculumUpdated: () => Promise.resolve(),
  experimentUpdated: () => Promise.resolve(),
  apiKeyChanged: () => Promise.resolve(),
  listen: () => () => undefined,
  track: () => undefined,
};
