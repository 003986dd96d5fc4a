/** `runs cancel ID`: asks the run to stop; prints the status it moved to. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { oneId, parse } from '../args';
import { RUN_FIELDS, type RunInfo } from './run';
import { RUNS_USAGE } from './usage';

export async function cancel(api: ApiClient, argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {}, RUNS_USAGE);
  const id = oneId(positionals, 'runs cancel', 'run', RUNS_USAGE);
  const { cancelRun } = await api.graphql<{ cancelRun: RunInfo }>(
    `mutation($id: ID!) { cancelRun(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  console.log(`Run ${cancelRun.id}: ${cancelRun.status}`);
  return EXIT.OK;
}
