#!/usr/bin/env node
/**
 * `stagewise`: the terminal client of the stagewise API. Talks to STAGEWISE_URL (default
 * http://127.0.0.1:4000) with STAGEWISE_API_KEY.
 *
 * Exit codes: 0 success; 1 the API refused the request (runs watch: the run FAILED);
 * 2 runs watch: the run was CANCELLED; 3 usage or connection error (wrong arguments, no server,
 * wrong key, unknown run for watch).
 */
import { ApiClient, ApiError, UsageError } from './api-client';
import { EXIT } from './commands/shared';
import { TASK_USAGE, taskCommand } from './commands/task';
import { RUNS_USAGE, runsCommand } from './commands/runs';

const USAGE = `stagewise — the terminal client of the stagewise API

${TASK_USAGE}

${RUNS_USAGE}

Environment: STAGEWISE_URL (default http://127.0.0.1:4000), STAGEWISE_API_KEY (a key with
WRITE scope to load tasks and start runs; READ is enough for list and watch).
Exit codes: 0 ok; 1 the API refused the request, or the watched run FAILED; 2 the watched run
was CANCELLED; 3 usage or connection error (bad arguments, no server, wrong key).`;

async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    console.log(USAGE);
    return group ? EXIT.OK : EXIT.USAGE;
  }
  const api = ApiClient.fromEnv();
  const isWatch = group === 'runs' && ['watch'].includes(rest[0] ?? '');
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(group === 'task' ? TASK_USAGE : RUNS_USAGE);
      return EXIT.OK;
    }
    if (group === 'task') return await taskCommand(api, rest);
    if (group === 'runs') return await runsCommand(api, rest);
    throw new UsageError(`unknown command ${group}\n\n${USAGE}`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return EXIT.USAGE;
    }
    if (err instanceof ApiError) {
      console.error(`stagewise: ${err.message} [${err.code}]`);
      // For watch, 1 and 2 are the run's outcome: any error of its own is 3.
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
