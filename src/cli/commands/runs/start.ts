/** `runs start`: a run of one stage on a dataset's samples (or on none), watched with --watch. */
import { type ApiClient, UsageError } from '../../api-client';
import { EXIT } from '../shared';
import { intOption, jsonObjectOption, launcherOption, noPositionals, parse } from '../args';
import { datasetIdByName } from '../datasets';
import { RUN_FIELDS, STAGES, type RunInfo } from './run';
import { RunWatcher } from './run-watcher';
import { RUNS_USAGE } from './usage';
import { WATCH_FLAGS, watchOptions } from './watch-options';

export async function start(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      stage: { type: 'string' },
      dataset: { type: 'string' },
      config: { type: 'string' },
      checkpoint: { type: 'string' },
      producer: { type: 'string' },
      limit: { type: 'string' },
      launcher: { type: 'string', default: 'local' },
      watch: { type: 'boolean', default: false },
      ...WATCH_FLAGS,
    },
    RUNS_USAGE,
  );
  noPositionals(positionals);
  const stage = values.stage?.toUpperCase();
  if (!stage || !STAGES.includes(stage)) {
    throw new UsageError(`--stage must be one of ${STAGES.join(', ')}\n\n${RUNS_USAGE}`);
  }
  const launcher = launcherOption(values.launcher);
  const config = jsonObjectOption(values.config, 'config') ?? {};
  const limit = intOption(values.limit, 'limit', 1);

  let selection: Record<string, unknown> | null = null;
  if (values.dataset) {
    const datasetId = await datasetIdByName(api, values.dataset);
    const sft = stage === 'SFT';
    selection = {
      filter: { datasetIds: [datasetId] },
      traceKinds: sft ? ['TEACHER'] : null,
      traceProducer: sft
        ? (values.producer ?? 'builtin-teacher-explicit')
        : (values.producer ?? null),
      limit: limit ?? null,
    };
  } else if (values.producer || limit !== undefined) {
    throw new UsageError('--producer and --limit select samples: give --dataset too');
  }

  const { startRun } = await api.graphql<{ startRun: RunInfo }>(
    `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`,
    {
      input: {
        stage,
        config,
        inputCheckpointId: values.checkpoint ?? null,
        selection,
        launcher,
      },
    },
  );
  console.error(
    `Started ${startRun.stage} run ${startRun.id} (${startRun.status}, launcher ${launcher.toLowerCase()})`,
  );
  console.log(startRun.id);
  if (values.watch) return new RunWatcher(api, startRun.id, watchOptions(values)).watch();
  return EXIT.OK;
}
