import { conflict } from '../../common/errors';
import { RunStatus } from './run.entity';

const { STARTING, RUNNING, CANCELLING, SUCCEEDED, FAILED, CANCELLED } = RunStatus;

/**
 * The only status moves a run may make: QUEUED -> STARTING -> RUNNING -> SUCCEEDED | FAILED,
 * and CANCELLED always through CANCELLING. A run may fail at any live step (launch errors,
 * a dead runner) and a cancelled runner may still finish or fail before it stops.
 */
const ALLOWED: Record<RunStatus, readonly RunStatus[]> = {
  QUEUED: [STARTING, CANCELLING, FAILED],
  STARTING: [RUNNING, CANCELLING, FAILED],
  RUNNING: [SUCCEEDED, FAILED, CANCELLING],
  CANCELLING: [CANCELLED, FAILED, SUCCEEDED],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export const TERMINAL: readonly RunStatus[] = [SUCCEEDED, FAILED, CANCELLED];
export const LIVE: readonly RunStatus[] = [STARTING, RUNNING, CANCELLING];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL.includes(status);
}

export function canMove(from: RunStatus, to: RunStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** CONFLICT unless `from -> to` is a legal move. */
export function assertMove(runId: number, from: RunStatus, to: RunStatus): void {
  if (!canMove(from, to)) {
    throw conflict(`Run ${runId} is ${from}; it cannot become ${to}`, { status: from, wanted: to });
  }
}
