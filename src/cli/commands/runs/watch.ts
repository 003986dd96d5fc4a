/** `runs watch ID`: follows the run to its end; exits with its outcome. */
import type { ApiClient } from '../../api-client';
import { oneId, parse } from '../args';
import { RunWatcher } from './run-watcher';
import { RUNS_USAGE } from './usage';
import { WATCH_FLAGS, watchOptions } from './watch-options';

export async function watch(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, WATCH_FLAGS, RUNS_USAGE);
  const id = oneId(positionals, 'runs watch', 'run', RUNS_USAGE);
  return new RunWatcher(api, id, watchOptions(values)).watch();
}
