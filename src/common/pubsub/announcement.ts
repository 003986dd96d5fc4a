/**
 * The wire format of announcements: one small JSON object per message, the same on Postgres
 * NOTIFY and on Redis. It names what changed (`k`), which row (`id`) and, for run events, the
 * last stored seq. It never carries the data: NOTIFY payloads must stay under 8000 bytes, and a
 * reader that re-reads the rows can never be handed a stale or out-of-order copy.
 */
export type Announcement =
  | { k: 'runEvents'; id: number; seq: number }
  | { k: 'runUpdated'; id: number }
  | { k: 'curriculumUpdated'; id: number }
  | { k: 'experimentUpdated'; id: number }
  /** API key `id` was revoked or its scopes changed: every process drops it from its cache. */
  | { k: 'apiKeyChanged'; id: number };

/** The one channel every process publishes on and listens to. */
export const ANNOUNCEMENT_CHANNEL = 'stagewise_events';

/**
 * Local event types a message is delivered to. `runEvents` goes to its run only (a run's stream
 * is the only reader); updates also go to an "any" topic for filters that are not by id.
 */
export function topicsOf(a: Announcement): string[] {
  return a.k === 'runEvents' ? [`${a.k}:${a.id}`] : [a.k, `${a.k}:${a.id}`];
}

/** Sent locally, never on the wire, after the listening connection came back from a drop. */
export const RESYNC_TOPIC = 'resync';

export function encodeAnnouncement(a: Announcement): string {
  return JSON.stringify(a);
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Parses a message; anything else on the channel (another version, a typo) is ignored. */
export function decodeAnnouncement(text: string): Announcement | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { k, id, seq } = v as Record<string, unknown>;
  if (!isId(id)) return undefined;
  if (k === 'runEvents') {
    return Number.isSafeInteger(seq) && (seq as number) >= 0
      ? { k, id, seq: seq as number }
      : undefined;
  }
  return k === 'runUpdated' ||
    k === 'curriculumUpdated' ||
    k === 'experimentUpdated' ||
    k === 'apiKeyChanged'
    ? { k, id }
    : undefined;
}
