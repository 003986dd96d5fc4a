/**
 * `stagewise experiments ...`: create an experiment, list experiments, show one arm by arm,
 * follow one live (experiments/experiment-watcher.ts) and cancel one.
 */
import type { ApiClient } from '../api-client';
import { runSubcommand } from './args';
import { cancel } from './experiments/cancel';
import { create } from './experiments/create';
import { list } from './experiments/list';
import { status } from './experiments/status';
import { EXPERIMENTS_USAGE } from './experiments/usage';
import { watch } from './experiments/watch';

export { EXPERIMENTS_USAGE } from './experiments/usage';

export function experimentsCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { create, list, status, watch, cancel }, EXPERIMENTS_USAGE);
}
