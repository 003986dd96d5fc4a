/**
 * Where runs execute. A launcher starts the runner command for a run, tells whether it is still
 * alive, and stops it. It knows nothing of the database: the run service records what it reports.
 */
export interface LaunchRequest {
  /** Numeric run id (for names and files) and the global id the runner is given. */
  runId: number;
  runGlobalId: string;
  /** Environment for the runner: STAGEWISE_API_URL, STAGEWISE_RUN_ID, STAGEWISE_RUN_TOKEN, STAGEWISE_WORK_DIR. */
  env: Record<string, string>;
  /** The command, e.g. ['/usr/bin/python3', '-m', 'gpu_runner']. */
  command: string[];
  /** The runner's working directory (STAGEWISE_WORK_DIR). */
  workDir: string;
}

/** The runner's key: a secret that no launcher writes in clear into a script, spec or log. */
export const RUN_TOKEN_ENV = 'STAGEWISE_RUN_TOKEN';
/** Where a launcher hands the token over as a 0600 file instead (the runner reads, then removes it). */
export const RUN_TOKEN_FILE_ENV = 'STAGEWISE_RUN_TOKEN_FILE';

/** What a launcher says about a job it started. */
export type JobState =
  | { state: 'PENDING' | 'RUNNING' }
  | { state: 'EXITED'; exitCode: number | null; signal: string | null; reason?: string }
  | { state: 'UNKNOWN' };

export interface LaunchedJob {
  /** The launcher's own id for the job: a pid, a Slurm job id, a Job name. */
  externalId: string;
}

export interface LauncherHooks {
  /** A line the job wrote on stdout or stderr (launchers that can capture them). */
  onLog?(runId: number, stream: 'stdout' | 'stderr', line: string): void;
  /** The job ended; called once. */
  onExit?(runId: number, state: Extract<JobState, { state: 'EXITED' }>): void;
}

export interface Launcher {
  readonly name: string;
  launch(request: LaunchRequest, hooks: LauncherHooks): Promise<LaunchedJob>;
  /** Current state of a job this launcher (or an earlier process of the API) started. */
  status(externalId: string): Promise<JobState>;
  /** SIGTERM, then SIGKILL after `graceMs` (scancel / Job deletion remotely). */
  cancel(externalId: string, graceMs: number): Promise<void>;
  /** Stops watching (timers, pollers) when the API process shuts down; jobs keep running. */
  close?(): Promise<void>;
}
