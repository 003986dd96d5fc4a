/** `experiments watch ID`: follows the experiment to its end; exits with its outcome. */
import type { ApiClient } from '../../api-client';
import { intOption, oneId, parse } from '../args';
import { ExperimentWatcher } from './experiment-watcher';
import { EXPERIMENTS_USAGE } from './usage';

export async function watch(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { 'reconnect-timeout': { type: 'string' } },
    EXPERIMENTS_USAGE,
  );
  return new ExperimentWatcher(api, oneId(positionals, 'watch', 'experiment', EXPERIMENTS_USAGE), {
    reconnectTimeoutSeconds: intOption(values['reconnect-timeout'], 'reconnect-timeout', 1),
  }).watch();
}
