#!/usr/bin/env node
/**
 * `stagewise`: the terminal client of the stagewise API. Talks to STAGEWISE_URL (default
 * http://127.0.0.1:4000) with STAGEWISE_API_KEY.
 *
 * Exit codes: 0 success; 1 the API refused the request (runs watch: the run FAILED; curricula /
 * experiments watch: it PAUSED); 2 runs / curricula / experiments watch: it was CANCELLED;
 * 3 usage or connection error (wrong arguments, no server, wrong key, unknown id for watch).
 */
import { ApiClient, ApiError, UsageError } from './api-client';
import { EXIT } from './commands/shared';
import { TASK_USAGE, taskCommand } from './commands/task';
import { RUNS_USAGE, runsCommand } from './commands/runs';
import { POLICIES_USAGE, policiesCommand } from './commands/policies';
import { CURRICULA_USAGE, curriculaCommand } from './commands/curricula';
import { EXPERIMENTS_USAGE, experimentsCommand } from './commands/experiments';
import { IMPORT_USAGE, importCommand } from './commands/import';
import { EXPORT_USAGE, exportCommand } from './commands/export';
import { KEYS_USAGE, keysCommand } from './commands/keys';

const USAGE = `stagewise — the terminal client of the stagewise API

${TASK_USAGE}

${RUNS_USAGE}

${POLICIES_USAGE}

${CURRICULA_USAGE}

${EXPERIMENTS_USAGE}

${IMPORT_USAGE}

${EXPORT_USAGE}

${KEYS_USAGE}

Environment: STAGEWISE_URL (default http://127.0.0.1:4000), STAGEWISE_API_KEY (a key with
WRITE scope to load tasks, start runs and create policies and curricula; READ is enough for
list, status, preview, watch and export; ADMIN for keys).
Exit codes: 0 ok; 1 the API refused the request (the message and its code are printed), an
imported file has a bad row (its row number is printed), the
watched run FAILED or the watched curriculum or experiment PAUSED; 2 the watched run,
curriculum or experiment was CANCELLED; 3 usage or connection error (bad arguments, no server, wrong key, unknown id for
watch).`;

const GROUP_USAGE: Record<string, string> = {
  task: TASK_USAGE,
  runs: RUNS_USAGE,
  policies: POLICIES_USAGE,
  curricula: CURRICULA_USAGE,
  experiments: EXPERIMENTS_USAGE,
  import: IMPORT_USAGE,
  export: EXPORT_USAGE,
  keys: KEYS_USAGE,
};

async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    console.log(USAGE);
    return group ? EXIT.OK : EXIT.USAGE;
  }
  const api = ApiClient.fromEnv();
  const isWatch = ['runs', 'curricula', 'experiments'].includes(group) && rest[0] === 'watch';
  try {
    if ((rest.includes('--help') || rest.includes('-h')) && GROUP_USAGE[group]) {
      console.log(GROUP_USAGE[group]);
      return EXIT.OK;
    }
    if (group === 'task') return await taskCommand(api, rest);
    if (group === 'runs') return await runsCommand(api, rest);
    if (group === 'policies') return await policiesCommand(api, rest);
    if (group === 'curricula') return await curriculaCommand(api, rest);
    if (group === 'experiments') return await experimentsCommand(api, rest);
    if (group === 'import') return await importCommand(api, rest);
    if (group === 'export') return await exportCommand(api, rest);
    if (group === 'keys') return await keysCommand(api, rest);
    throw new UsageError(`unknown command ${group}\n\n${USAGE}`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return EXIT.USAGE;
    }
    if (err instanceof ApiError) {
      console.error(`stagewise: ${err.message} [${err.code}]`);
      // For watch, 1 and 2 are the run's or curriculum's outcome: any error of its own is 3.
      const access = err.isAccessProblem || err.code === 'FORBIDDEN' || err.code === 'PROTOCOL';
      return access || isWatch ? EXIT.USAGE : EXIT.FAILED;
    }
    console.error(`stagewise: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.FAILED;
  } finally {
    await api.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Keep-alive sockets must not hold the exit back; stdout is flushed by then.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = EXIT.USAGE;
  },
);
