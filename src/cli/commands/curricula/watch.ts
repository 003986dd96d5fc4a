/** `curricula watch ID`: follows the curriculum to its end; exits with its outcome. */
import type { ApiClient } from '../../api-client';
import { intOption, parse } from '../args';
import { curriculumId } from './curriculum';
import { CurriculumWatcher } from './curriculum-watcher';
import { CURRICULA_USAGE } from './usage';

export async function watch(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      quiet: { type: 'boolean', default: false },
      plain: { type: 'boolean', default: false },
      'reconnect-timeout': { type: 'string' },
    },
    CURRICULA_USAGE,
  );
  return new CurriculumWatcher(api, curriculumId(positionals, 'watch'), {
    quiet: values.quiet,
    plain: values.plain,
    reconnectTimeoutSeconds: intOption(values['reconnect-timeout'], 'reconnect-timeout', 1),
  }).watch();
}
