/**
 * The exit code of a watch, from how what it watched ended: 0 SUCCEEDED, 2 CANCELLED, 1 anything
 * else (a FAILED run, a PAUSED curriculum). Exit 3 (usage, connection) is the CLI's, not an
 * outcome.
 */
import { EXIT } from '../commands/shared';

export function exitCodeForOutcome(status: string): number {
  if (status === 'SUCCEEDED') return EXIT.OK;
  if (status === 'CANCELLED') return EXIT.CANCELLED;
  return EXIT.FAILED;
}
