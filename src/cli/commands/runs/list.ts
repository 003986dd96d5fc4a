/** `runs list`: every run, newest first, filtered by status and stage; a table or --json. */
import { type ApiClient, UsageError } from '../../api-client';
import { noPositionals, parse } from '../args';
import { dateTime, printList, stepCount } from '../output';
import { fetchAllPages } from '../pages';
import { RUN_FIELDS, STAGES, STATUSES, durationOf, type RunInfo } from './run';
import { RUNS_USAGE } from './usage';

function listCsv(value: string | undefined, allowed: string[], name: string): string[] | null {
  if (!value) return null;
  const items = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const wrong = items.filter((s) => !allowed.includes(s));
  if (wrong.length)
    throw new UsageError(`--${name}: unknown ${wrong.join(', ')}; use ${allowed.join(', ')}`);
  return items;
}

export async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      status: { type: 'string' },
      stage: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    RUNS_USAGE,
  );
  noPositionals(positionals);
  const status = listCsv(values.status, STATUSES, 'status');
  const stage = listCsv(values.stage, STAGES, 'stage');
  if (stage && stage.length > 1) throw new UsageError('--stage takes one stage');
  const filter = { ...(status ? { status } : {}), ...(stage ? { stage: stage[0] } : {}) };
  const runs = await fetchAllPages<RunInfo>(
    api,
    'runs',
    `query($filter: RunFilter, $after: String) {
      runs(first: 100, filter: $filter, after: $after) {
        nodes { ${RUN_FIELDS} } pageInfo { hasNextPage endCursor }
      }
    }`,
    { filter },
  );
  return printList(runs, {
    json: values.json,
    empty: 'No runs.',
    headers: ['ID', 'STAGE', 'STATUS', 'ATTEMPT', 'STEP', 'TIME', 'CREATED', 'OUTPUT / ERROR'],
    row: (r) => [
      r.id,
      r.stage,
      r.status,
      String(r.attempt),
      stepCount(r.progress) ?? '-',
      durationOf(r),
      dateTime(r.createdAt),
      r.outputCheckpoint?.name ?? (r.error ? r.error.split('\n')[0].slice(0, 60) : ''),
    ],
  });
}
