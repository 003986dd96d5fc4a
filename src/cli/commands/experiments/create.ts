/** `experiments create`: arms compared from one base checkpoint at one budget; its id. */
import { type ApiClient, UsageError } from '../../api-client';
import { EXIT } from '../shared';
import {
  choiceOption,
  floatOption,
  intOption,
  launcherOption,
  listOption,
  noPositionals,
  parse,
  requireOptions,
  stageConfigsOption,
} from '../args';
import { printJson } from '../output';
import { resolveDatasetIds } from '../datasets';
import { ARMS, LIST_FIELDS, type ExperimentView } from './experiment';
import { EXPERIMENTS_USAGE } from './usage';

export async function create(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string' },
      train: { type: 'string', multiple: true },
      eval: { type: 'string', multiple: true },
      base: { type: 'string' },
      arms: { type: 'string', multiple: true },
      seeds: { type: 'string' },
      budget: { type: 'string' },
      policy: { type: 'string' },
      rounds: { type: 'string' },
      'stage-configs': { type: 'string' },
      launcher: { type: 'string', default: 'local' },
      json: { type: 'boolean', default: false },
    },
    EXPERIMENTS_USAGE,
  );
  noPositionals(positionals, EXPERIMENTS_USAGE);
  const train = listOption(values.train);
  const evals = listOption(values.eval);
  const arms = listOption(values.arms).map((a) => choiceOption(a, 'arms', ARMS)!);
  requireOptions(
    {
      name: values.name,
      train: train.length,
      eval: evals.length,
      base: values.base,
      arms: arms.length,
      budget: values.budget,
    },
    EXPERIMENTS_USAGE,
  );
  if (new Set(arms).size !== arms.length) throw new UsageError('--arms: each arm once');
  const seeds = intOption(values.seeds, 'seeds', 1);
  const rounds = intOption(values.rounds, 'rounds', 1);
  const budget = floatOption(values.budget, 'budget', 1, 1e13);
  const launcher = launcherOption(values.launcher);
  const stageConfigs = stageConfigsOption(values['stage-configs']);
  const [trainDatasetIds, evalDatasetIds] = [
    await resolveDatasetIds(api, train),
    await resolveDatasetIds(api, evals),
  ];
  const { createExperiment: e } = await api.graphql<{ createExperiment: ExperimentView }>(
    `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { ${LIST_FIELDS} } }`,
    {
      input: {
        name: values.name,
        trainDatasetIds,
        evalDatasetIds,
        baseCheckpointId: values.base,
        arms,
        ...(seeds !== undefined ? { seeds } : {}),
        ...(rounds !== undefined ? { rounds } : {}),
        policyId: values.policy ?? null,
        computeBudget: budget,
        launcher,
        stageConfigs: stageConfigs ?? null,
      },
    },
  );
  if (values.json) return printJson(e);
  console.error(
    `Created experiment ${e.name}: ${e.armNames.join(', ')} x ${e.seeds} seed` +
      `${e.seeds === 1 ? '' : 's'} at ${e.computeBudget} tokens each; ${e.status}` +
      ` (follow it: stagewise experiments watch ${e.id})`,
  );
  console.log(e.id);
  return EXIT.OK;
}
