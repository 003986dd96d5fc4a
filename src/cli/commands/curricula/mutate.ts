/** `curricula advance | resume | cancel ID`: moves a curriculum on; prints where it stands. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { parse, type Subcommand } from '../args';
import { printJson } from '../output';
import { LIST_FIELDS, curriculumId, type CurriculumView } from './curriculum';
import { roundLabel, runLine } from './text';
import { CURRICULA_USAGE } from './usage';

type Move = 'advance' | 'resume' | 'cancel';

async function mutate(api: ApiClient, argv: string[], sub: Move): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  const id = curriculumId(positionals, sub);
  const field = `${sub}Curriculum`;
  const data = await api.graphql<Record<string, CurriculumView>>(
    `mutation($id: ID!) { ${field}(id: $id) { ${LIST_FIELDS} } }`,
    { id },
  );
  const c = data[field];
  if (values.json) return printJson(c);
  console.log(
    `Curriculum ${c.name}: ${c.status}, ${roundLabel(c)}, phase ${c.phase}; current run ${runLine(c.currentRun)}` +
      (c.status === 'PAUSED' && c.pauseReason ? `\n  paused: ${c.pauseReason}` : ''),
  );
  return EXIT.OK;
}

export const mutation =
  (sub: Move): Subcommand =>
  (api, argv) =>
    mutate(api, argv, sub);
