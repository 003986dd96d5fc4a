/** `curricula list`: every curriculum, by status; a table or --json. */
import type { ApiClient } from '../../api-client';
import { choiceOption, noPositionals, parse } from '../args';
import { dateTime, printList } from '../output';
import { fetchAllPages } from '../pages';
import { LIST_FIELDS, STATUSES, type CurriculumView } from './curriculum';
import { runLine } from './text';
import { CURRICULA_USAGE } from './usage';

export async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { status: { type: 'string' }, json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  noPositionals(positionals, CURRICULA_USAGE);
  const status = choiceOption(values.status, 'status', STATUSES);
  const curricula = await fetchAllPages<CurriculumView>(
    api,
    'curricula',
    `query($status: CurriculumStatus, $after: String) {
      curricula(first: 100, status: $status, after: $after) {
        nodes { ${LIST_FIELDS} } pageInfo { hasNextPage endCursor }
      }
    }`,
    { status: status ?? null },
  );
  return printList(curricula, {
    json: values.json,
    empty: 'No curricula.',
    headers: ['ID', 'NAME', 'STATUS', 'ROUND', 'PHASE', 'CURRENT RUN', 'BASE', 'POLICY', 'UPDATED'],
    row: (c) => [
      c.id,
      c.name,
      c.status,
      `${c.currentRound}/${c.rounds}`,
      c.phase,
      c.currentRun ? runLine(c.currentRun) : '-',
      c.baseCheckpoint.name,
      `${c.policy.name} v${c.policy.version}`,
      dateTime(c.updatedAt),
    ],
  });
}
