/**
 * What writers tell subscribers, after their transaction commits: small announcements (ids and
 * sequence numbers), never the data itself. Subscribers read the stored rows, so an announcement
 * lost or repeated costs nothing but a read, and nothing is ever out of order.
 */
export interface Announcer {
  /** Events up to `lastSeq` of run `runId` are stored. */
  runEvents(runId: number, lastSeq: number): Promise<void>;
  /** Run `runId` changed status, progress or metrics. */
  runUpdated(runId: number): Promise<void>;
  /** Curriculum `curriculumId` changed phase, round or status. */
  curriculumUpdated(curriculumId: number): Promise<void>;
  /** Experiment `experimentId` changed status, or one of its runs or curricula moved. */
  experimentUpdated(experimentId: number): Promise<void>;
  /** API key `keyId` was revoked or changed scopes: caches of it everywhere must go. */
  apiKeyChanged(keyId: number): Promise<void>;
}
