/** `runs retry ID`: the run again as a new attempt, watched with --watch; prints the new id. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { oneId, parse } from '../args';
import { RUN_FIELDS, type RunInfo } from './run';
import { RunWatcher } from './run-watcher';
import { RUNS_USAGE } from './usage';
import { WATCH_FLAGS, watchOptions } from './watch-options';

export async function retry(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { watch: { type: 'boolean', default: false }, ...WATCH_FLAGS },
    RUNS_USAGE,
  );
  const id = oneId(positionals, 'runs retry', 'run', RUNS_USAGE);
  const { retryRun } = await api.graphql<{ retryRun: RunInfo }>(
    `mutation($id: ID!) { retryRun(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  console.error(
    `Retrying ${id} as run ${retryRun.id} (attempt ${retryRun.attempt}, ${retryRun.status})`,
  );
  console.log(retryRun.id);
  if (values.watch) return new RunWatcher(api, retryRun.id, watchOptions(values)).watch();
  return EXIT.OK;
}
