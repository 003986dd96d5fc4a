import { badInput } from '../../common/errors';
import { RunStatus } from './run.entity';
import { RunEventType } from './run-event.entity';
import type { LockedRun } from './run-journal';
import { canMove } from './run-status';

const { RUNNING, SUCCEEDED, FAILED } = RunStatus;

/** The statuses a runner may report in a STATUS event (gpu-runner/PROTOCOL.md). */
export const RUNNER_STATUSES: readonly RunStatus[] = [RUNNING, SUCCEEDED, FAILED];

/**
 * The moves a runner's STATUS report makes from the run's status, along run-status.ts (the one
 * transition table): the report itself when that move is legal; RUNNING first when an outcome
 * comes straight from STARTING (its RUNNING was lost or is still buffered); nothing when the
 * report is late or repeated (RUNNING after CANCELLING, anything after the end). Reports reach
 * the API in any order (resends, buffers), so an illegal one is not an error: it is ignored.
 */
export function movesForReport(from: RunStatus, reported: RunStatus): RunStatus[] {
  if (canMove(from, reported)) return [reported];
  if (reported !== RUNNING && canMove(from, RUNNING) && canMove(RUNNING, reported)) {
    return [RUNNING, reported];
  }
  return [];
}

/** One event as the runner posts it (the body of POST /events). */
export interface RunnerEvent {
  seq: number;
  type: RunEventType;
  payload: Record<string, unknown>;
  at?: string;
}

export interface RunnerEventsAnswer {
  stored: number;
  duplicates: number;
  /** Runner seqs of STATUS reports acknowledged but not applied: late or repeated moves. */
  ignored: number[];
}

function reportedStatus(event: RunnerEvent, index: number): RunStatus {
  const status = event.payload.status;
  if (!RUNNER_STATUSES.includes(status as RunStatus)) {
    throw badInput(
      `events.${index}.payload.status: a runner reports ${RUNNER_STATUSES.join(', ')}, not ${JSON.stringify(status)}`,
    );
  }
  return status as RunStatus;
}

/**
 * Stores a batch of runner events in order and applies its STATUS reports to the run. A STATUS
 * report that makes no legal move is not stored (the run's log stays a legal path, and no
 * webhook fires for it) and its seq is answered in `ignored`; a resent one is a duplicate.
 */
export async function recordRunnerEvents(
  r: LockedRun,
  events: RunnerEvent[],
): Promise<RunnerEventsAnswer> {
  // Refused before anything is written.
  const reported = events.map((e, i) =>
    e.type === RunEventType.STATUS ? reportedStatus(e, i) : null,
  );
  const known = await r.storedRunnerSeqs(events.map((e) => e.seq));
  const answer: RunnerEventsAnswer = { stored: 0, duplicates: 0, ignored: [] };
  let pending: RunnerEvent[] = [];
  const flush = async () => {
    const { stored, duplicates } = await r.record(
      pending.map((e) => ({
        type: e.type,
        payload: e.payload,
        at: e.at ? new Date(e.at) : undefined,
        runnerSeq: e.seq,
      })),
    );
    answer.stored += stored;
    answer.duplicates += duplicates;
    pending = [];
  };
  for (const [i, event] of events.entries()) {
    const status = reported[i];
    if (status === null || known.has(event.seq)) {
      pending.push(event); // a resent STATUS is counted as a duplicate by record()
      continue;
    }
    known.add(event.seq);
    const moves = movesForReport(r.run.status, status);
    if (moves.length === 0) {
      answer.ignored.push(event.seq);
      continue;
    }
    await flush();
    for (const to of moves.slice(0, -1)) {
      // A hop the runner did not report: the API's own STATUS event keeps the log a legal path.
      await r.move(to, { detail: { impliedBy: status } });
    }
    pending.push(event);
    await flush();
    const message = event.payload.message;
    await r.move(status, {
      recordEvent: false, // the runner's STATUS event, just stored, is the record
      ...(status === FAILED
        ? { error: typeof message === 'string' ? message : 'The runner reported a failure' }
        : {}),
    });
  }
  await flush();
  return answer;
}
