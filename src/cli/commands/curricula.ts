/**
 * `stagewise curricula ...`: create a multi-round curriculum, list curricula, show one round by
 * round, follow one live (curricula/curriculum-watcher.ts), and move it on (advance, resume,
 * cancel).
 */
import type { ApiClient } from '../api-client';
import { runSubcommand } from './args';
import { create } from './curricula/create';
import { list } from './curricula/list';
import { mutation } from './curricula/mutate';
import { status } from './curricula/status';
import { CURRICULA_USAGE } from './curricula/usage';
import { watch } from './curricula/watch';

export { CURRICULA_USAGE } from './curricula/usage';

export async function curriculaCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(
    api,
    argv,
    {
      create,
      list,
      status,
      watch,
      advance: mutation('advance'),
      resume: mutation('resume'),
      cancel: mutation('cancel'),
    },
    CURRICULA_USAGE,
  );
}
