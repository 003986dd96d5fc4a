/** `experiments cancel ID`: cancels the experiment, its live runs and curricula; prints it. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { oneId, parse } from '../args';
import { printJson } from '../output';
import { LIST_FIELDS, type ExperimentView } from './experiment';
import { EXPERIMENTS_USAGE } from './usage';

export async function cancel(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    EXPERIMENTS_USAGE,
  );
  const id = oneId(positionals, 'experiments cancel', 'experiment', EXPERIMENTS_USAGE);
  const { cancelExperiment: e } = await api.graphql<{ cancelExperiment: ExperimentView }>(
    `mutation($id: ID!) { cancelExperiment(id: $id) { ${LIST_FIELDS} } }`,
    { id },
  );
  if (values.json) return printJson(e);
  console.log(
    `Experiment ${e.name}: ${e.status}; its live runs and curricula are cancelled ` +
      `(the finished seeds' results: stagewise experiments status ${e.id})`,
  );
  return EXIT.OK;
}
