import path from 'node:path';

/** Exit codes of every `stagewise` command (`runs watch` maps the run's outcome onto 0-2). */
export const EXIT = {
  OK: 0,
  /** runs watch: the run FAILED. Other commands: the API refused the request. */
  FAILED: 1,
  /** runs watch: the run was CANCELLED. */
  CANCELLED: 2,
  /** A wrong command line, no server, a wrong key, a lost connection that did not come back. */
  USAGE: 3,
} as const;

/** The repository's gpu-runner folder: <root>/dist/src/cli/commands -> <root>/gpu-runner. */
export function runnerDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RUNNER_DIR ?? path.join(__dirname, '..', '..', '..', '..', 'gpu-runner'));
}

export function runnerPython(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_PYTHON ?? '/usr/bin/python3';
}
