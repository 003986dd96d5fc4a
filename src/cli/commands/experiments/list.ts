/** `experiments list`: every experiment, by status; a table or --json. */
import type { ApiClient } from '../../api-client';
import { choiceOption, noPositionals, parse } from '../args';
import { dateTime, printList } from '../output';
import { fetchAllPages } from '../pages';
import { LIST_FIELDS, STATUSES, type ExperimentView } from './experiment';
import { EXPERIMENTS_USAGE } from './usage';

export async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { status: { type: 'string' }, json: { type: 'boolean', default: false } },
    EXPERIMENTS_USAGE,
  );
  noPositionals(positionals, EXPERIMENTS_USAGE);
  const status = choiceOption(values.status, 'status', STATUSES);
  const experiments = await fetchAllPages<ExperimentView>(
    api,
    'experiments',
    `query($status: ExperimentStatus, $after: String) {
      experiments(first: 100, status: $status, after: $after) {
        nodes { ${LIST_FIELDS} } pageInfo { hasNextPage endCursor }
      }
    }`,
    { status: status ?? null },
  );
  return printList(experiments, {
    json: values.json,
    empty: 'No experiments.',
    headers: ['ID', 'NAME', 'STATUS', 'ARMS', 'SEEDS', 'BUDGET', 'UPDATED'],
    row: (e) => [
      e.id,
      e.name,
      e.status,
      e.armNames.join(','),
      String(e.seeds),
      String(e.computeBudget),
      dateTime(e.updatedAt),
    ],
  });
}
