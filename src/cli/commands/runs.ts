/**
 * `stagewise runs ...`: start, list, watch, cancel and retry runs.
 *
 * `runs watch` follows the runEvents subscription (graphql-ws on /graphql) from the last seq it
 * has seen, so a dropped connection resumes where it stopped; when the subscription cannot be
 * used it polls run.events(afterSeq) instead (runs/run-watcher.ts, on the shared follower in
 * src/cli/follow).
 */
import type { ApiClient } from '../api-client';
import { runSubcommand } from './args';
import { cancel } from './runs/cancel';
import { list } from './runs/list';
import { retry } from './runs/retry';
import { start } from './runs/start';
import { RUNS_USAGE } from './runs/usage';
import { watch } from './runs/watch';

export { RUNS_USAGE } from './runs/usage';

export async function runsCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { start, list, watch, cancel, retry }, RUNS_USAGE);
}
