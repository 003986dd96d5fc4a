/** `stagewise experiments ...`: list experiments and show one arm by arm. */
import type { ApiClient } from '../api-client';
import { runSubcommand } from './args';
import { list } from './experiments/list';
import { status } from './experiments/status';
import { EXPERIMENTS_USAGE } from './experiments/usage';

export { EXPERIMENTS_USAGE } from './experiments/usage';

export function experimentsCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { list, status }, EXPERIMENTS_USAGE);
}
