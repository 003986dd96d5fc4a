/** `curricula create`: a multi-round curriculum from a base checkpoint and a policy; its id. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import {
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
import { LIST_FIELDS, type CurriculumView } from './curriculum';
import { CURRICULA_USAGE } from './usage';

export async function create(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      'eval-dataset': { type: 'string', multiple: true },
      base: { type: 'string' },
      policy: { type: 'string' },
      rounds: { type: 'string' },
      'stage-configs': { type: 'string' },
      launcher: { type: 'string', default: 'local' },
      'no-auto-advance': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    CURRICULA_USAGE,
  );
  noPositionals(positionals, CURRICULA_USAGE);
  const datasets = listOption(values.dataset);
  const evalDatasets = listOption(values['eval-dataset']);
  requireOptions(
    { name: values.name, dataset: datasets.length, base: values.base, policy: values.policy },
    CURRICULA_USAGE,
  );
  const launcher = launcherOption(values.launcher);
  const rounds = intOption(values.rounds, 'rounds', 1);
  const stageConfigs = stageConfigsOption(values['stage-configs']);
  const [datasetIds, evalDatasetIds] = [
    await resolveDatasetIds(api, datasets),
    await resolveDatasetIds(api, evalDatasets),
  ];
  const { createCurriculum: c } = await api.graphql<{ createCurriculum: CurriculumView }>(
    `mutation($input: CreateCurriculumInput!) {
      createCurriculum(input: $input) { ${LIST_FIELDS} autoAdvance launcher }
    }`,
    {
      input: {
        name: values.name,
        datasetIds,
        evalDatasetIds,
        baseCheckpointId: values.base,
        policyId: values.policy,
        ...(rounds !== undefined ? { rounds } : {}),
        launcher,
        stageConfigs: stageConfigs ?? null,
        autoAdvance: !values['no-auto-advance'],
      },
    },
  );
  if (values.json) return printJson(c);
  console.error(
    `Created curriculum ${c.name}: ${c.rounds} round${c.rounds === 1 ? '' : 's'} from ` +
      `${c.baseCheckpoint.name} with policy ${c.policy.name} v${c.policy.version}, launcher ` +
      `${c.launcher.toLowerCase()}; ${c.status} ${c.phase}` +
      (c.autoAdvance ? '' : ` (no auto-advance: stagewise curricula advance ${c.id})`),
  );
  console.log(c.id);
  return EXIT.OK;
}
