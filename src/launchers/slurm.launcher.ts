/**
 * Runs the runner as a Slurm batch job. The launcher writes a batch script into the run's work
 * directory (it exports the env and execs the command), submits it with `sbatch --parsable`,
 * follows it with `squeue` / `scontrol show job` and tails its output files into hooks.onLog
 * while it runs. The job's id is the Slurm job id.
 *
 * The runner's token is not in the script: Slurm keeps batch scripts in its state folder (and in
 * accounting, with AccountingStoreFlags=job_script), where `scontrol write batch_script` hands
 * them out. It goes into a 0600 file beside the script instead, named by STAGEWISE_RUN_TOKEN_FILE;
 * the runner removes it once read, and the launcher when it sees the job end (its own jobs, and
 * those it is asked about after an API restart, found through the script path Slurm reports).
 *
 * Cancel: `scancel --signal=TERM --full` (the batch script and all its children get SIGTERM, as a
 * runner expects), then, when the job is still there after the grace period, a plain `scancel`:
 * Slurm marks it CANCELLED and kills what is left (SIGKILL after the cluster's KillWait).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { FileTail } from './file-tail';
import {
  RUN_TOKEN_ENV,
  RUN_TOKEN_FILE_ENV,
  type JobState,
  type LaunchedJob,
  type Launcher,
  type LauncherHooks,
  type LaunchRequest,
} from './launcher';

export interface SlurmLauncherOptions {
  /** `--partition`; the cluster's default partition when unset. */
  partition?: string;
  /** `--time`, e.g. '02:00:00' or minutes as a number; the partition's limit when unset. */
  timeLimit?: string | number;
  /** More sbatch arguments, e.g. ['--gres=gpu:1', '--cpus-per-task=4', '--mem=16G']. */
  extraArgs?: string[];
  /**
   * `--export` for sbatch (default 'NONE': the job gets none of the API's environment, only what
   * the batch script exports, Slurm's variables and the user's login environment).
   */
  export?: string;
  /** Folder of the Slurm commands (sbatch, squeue, scontrol, scancel); found on PATH when unset. */
  binDir?: string;
  /**
   * The cluster's slurm.conf, given to every Slurm command as SLURM_CONF (a cluster other than
   * the machine's default one, e.g. the private one the tests start); Slurm's default when unset.
   */
  slurmConf?: string;
  /** How often a launched job is polled and its output read (default 2000 ms). */
  pollMs?: number;
  /** How long cancel() waits for the job to end after the final scancel (default 60000 ms). */
  cancelWaitMs?: number;
  /** Timeout of one Slurm command (default 30000 ms). */
  commandTimeoutMs?: number;
}

/**
 * Slurm's job states, by what they mean to a launcher; any other state (COMPLETED, FAILED,
 * TIMEOUT...) means the job has ended.
 */
const PENDING_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESV_DEL_HOLD',
  'RESIZING',
]);
const RUNNING_STATES = new Set([
  'RUNNING',
  'COMPLETING',
  'SIGNALING',
  'STAGE_OUT',
  'SUSPENDED',
  'STOPPED',
]);

type Exited = Extract<JobState, { state: 'EXITED' }>;

/** Quotes a string for bash. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The files of a run's job in its work dir: batch script, token file, Slurm's output files. */
export function slurmJobFiles(request: Pick<LaunchRequest, 'runId' | 'workDir'>) {
  const base = `stagewise-run-${request.runId}`;
  return {
    script: path.join(request.workDir, `${base}.sbatch`),
    token: path.join(request.workDir, `${base}.token`),
    out: path.join(request.workDir, 'slurm-%j.out'),
    err: path.join(request.workDir, 'slurm-%j.err'),
  };
}

/**
 * The batch script for a request: exports the env, enters the work dir, execs the command. The
 * runner token is never written here: the script names the token file instead.
 */
export function buildBatchScript(request: LaunchRequest): string {
  const lines = [
    '#!/bin/bash',
    `# stagewise run ${request.runId} (${request.runGlobalId}), written by the Slurm launcher`,
    'export PATH="${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"',
  ];
  const { [RUN_TOKEN_ENV]: token, ...env } = request.env;
  if (token !== undefined) env[RUN_TOKEN_FILE_ENV] = slurmJobFiles(request).token;
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`invalid env name: ${key}`);
    lines.push(`export ${key}=${shellQuote(value)}`);
  }
  lines.push(`cd ${shellQuote(request.workDir)} || exit 127`);
  lines.push(`exec ${request.command.map(shellQuote).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Reads `JobState`, `Reason` and `ExitCode=N:S` from `scontrol show job -o`. */
export function parseScontrolJob(text: string): {
  state: string;
  reason?: string;
  exitCode: number | null;
  signal: string | null;
} | null {
  const field = (name: string) => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(text)?.[1];
  const state = field('JobState');
  if (!state) return null;
  const exit = /^(\d+):(\d+)$/.exec(field('ExitCode') ?? '');
  let exitCode: number | null = null;
  let signal: string | null = null;
  if (exit) {
    const sig = Number(exit[2]);
    if (sig > 0) {
      signal = Object.entries(os.constants.signals).find(([, n]) => n === sig)?.[0] ?? `SIG${sig}`;
    } else {
      exitCode = Number(exit[1]);
    }
  }
  const reason = field('Reason');
  return { state, reason: reason && reason !== 'None' ? reason : undefined, exitCode, signal };
}

class CommandError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly code: number | string | null,
  ) {
    super(message);
  }
}

interface Tracked {
  runId: number;
  hooks: LauncherHooks;
  tokenFile: string;
  out: FileTail;
  err: FileTail;
  timer?: NodeJS.Timeout;
  done: boolean;
  /** Consecutive polls where Slurm did not know the job. */
  missing: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SlurmLauncher implements Launcher {
  readonly name = 'slurm';
  private readonly jobs = new Map<string, Tracked>();

  constructor(private readonly options: SlurmLauncherOptions = {}) {}

  private run(cmd: string, args: string[]): Promise<string> {
    const file = this.options.binDir ? path.join(this.options.binDir, cmd) : cmd;
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        {
          timeout: this.options.commandTimeoutMs ?? 30000,
          maxBuffer: 4 << 20,
          env: this.options.slurmConf
            ? { ...process.env, SLURM_CONF: this.options.slurmConf }
            : process.env,
        },
        (err, stdout, stderr) => {
          if (err) {
            const e = err as NodeJS.ErrnoException & { code?: number | string };
            reject(
              new CommandError(
                `${cmd} ${args.join(' ')} failed: ${stderr.trim() || e.message}`,
                stderr,
                e.code ?? null,
              ),
            );
          } else resolve(stdout);
        },
      );
    });
  }

  /** The path of the batch script, token file and output files of a run's job. */
  static files(request: Pick<LaunchRequest, 'runId' | 'workDir'>) {
    return slurmJobFiles(request);
  }

  /** The sbatch arguments for a request (before the script's path). */
  sbatchArgs(request: LaunchRequest): string[] {
    const files = SlurmLauncher.files(request);
    const args = [
      '--parsable',
      `--job-name=stagewise-run-${request.runId}`,
      `--output=${files.out}`,
      `--error=${files.err}`,
      `--chdir=${request.workDir}`,
      `--export=${this.options.export ?? 'NONE'}`,
    ];
    if (this.options.partition) args.push(`--partition=${this.options.partition}`);
    if (this.options.timeLimit !== undefined) args.push(`--time=${this.options.timeLimit}`);
    args.push(...(this.options.extraArgs ?? []));
    return args;
  }

  async launch(request: LaunchRequest, hooks: LauncherHooks): Promise<LaunchedJob> {
    if (!request.command.length) throw new Error('launch: empty command');
    await fs.promises.mkdir(request.workDir, { recursive: true });
    const files = SlurmLauncher.files(request);
    let jobId: string;
    try {
      await writeTokenFile(files.token, request.env[RUN_TOKEN_ENV]);
      await fs.promises.writeFile(files.script, buildBatchScript(request), { mode: 0o700 });
      const out = await this.run('sbatch', [...this.sbatchArgs(request), files.script]);
      jobId = out.trim().split(';')[0];
      if (!/^\d+$/.test(jobId)) throw new Error(`sbatch answered no job id: ${out.trim()}`);
    } catch (err) {
      // Nothing was submitted (or nothing we can follow): no token stays behind, and no script
      // half written on a full disk.
      await Promise.all([files.token, files.script].map((f) => fs.promises.rm(f, { force: true })));
      throw err;
    }
    const job: Tracked = {
      runId: request.runId,
      hooks,
      tokenFile: files.token,
      out: new FileTail(files.out.replace('%j', jobId)),
      err: new FileTail(files.err.replace('%j', jobId)),
      done: false,
      missing: 0,
    };
    this.jobs.set(jobId, job);
    this.schedule(jobId, job);
    return { externalId: jobId };
  }

  private schedule(jobId: string, job: Tracked) {
    job.timer = setTimeout(() => {
      this.poll(jobId, job).then(
        (finished) => {
          if (!finished && !job.done) this.schedule(jobId, job);
        },
        () => {
          if (!job.done) this.schedule(jobId, job);
        },
      );
    }, this.options.pollMs ?? 2000);
  }

  private async readLogs(job: Tracked, final: boolean) {
    await job.out.read((line) => job.hooks.onLog?.(job.runId, 'stdout', line), final);
    await job.err.read((line) => job.hooks.onLog?.(job.runId, 'stderr', line), final);
  }

  /** One look at a tracked job: new log lines, and onExit once it ended. True when it ended. */
  private async poll(jobId: string, job: Tracked): Promise<boolean> {
    await this.readLogs(job, false);
    const state = await this.status(jobId);
    if (state.state === 'UNKNOWN') return false;
    if (state.state !== 'EXITED') return false;
    if (job.done) return true;
    // Slurm forgets a job MinJobAge (300 s) after it ended; a job it never knew is gone at once.
    // Ask twice before believing it: a job just submitted can be missing from a busy controller.
    if (state.reason?.startsWith('UNKNOWN_TO_SLURM') && ++job.missing < 2) return false;
    job.done = true;
    this.jobs.delete(jobId);
    // The runner removes the file once it has read it; a job that ended before (cancelled while
    // pending, a runner that never started) leaves it to us.
    await fs.promises.rm(job.tokenFile, { force: true }).catch(() => undefined);
    await this.readLogs(job, true);
    job.hooks.onExit?.(job.runId, state);
    return true;
  }

  async status(externalId: string): Promise<JobState> {
    const jobId = externalId.trim();
    if (!/^\d+(_\d+)?$/.test(jobId)) {
      return {
        state: 'EXITED',
        exitCode: null,
        signal: null,
        reason: `not a Slurm job id: ${jobId}`,
      };
    }
    let queued: string;
    try {
      queued = (await this.run('squeue', ['-h', '-j', jobId, '-o', '%T'])).trim().split('\n')[0];
    } catch (err) {
      if (!isInvalidJob(err)) return { state: 'UNKNOWN' };
      queued = '';
    }
    if (PENDING_STATES.has(queued)) return { state: 'PENDING' };
    if (RUNNING_STATES.has(queued)) return { state: 'RUNNING' };
    // Ended (squeue lists only live jobs when asked for one) or unknown: scontrol keeps ended
    // jobs for MinJobAge and gives their exit code.
    let text: string;
    try {
      text = await this.run('scontrol', ['show', 'job', jobId, '-o']);
    } catch (err) {
      if (isInvalidJob(err)) return unknownToSlurm(jobId);
      return { state: 'UNKNOWN' };
    }
    const job = parseScontrolJob(text);
    if (!job) return { state: 'UNKNOWN' };
    if (PENDING_STATES.has(job.state)) return { state: 'PENDING' };
    if (RUNNING_STATES.has(job.state)) return { state: 'RUNNING' };
    // A job this process did not launch (adopted after an API restart) ended: its token file,
    // if the runner never got to remove it, goes now.
    const tokenFile = tokenFileOfScript(/(?:^|\s)Command=(\S+)/.exec(text)?.[1]);
    if (tokenFile) await fs.promises.rm(tokenFile, { force: true }).catch(() => undefined);
    return {
      state: 'EXITED',
      exitCode: job.exitCode,
      signal: job.signal,
      reason: job.reason ? `${job.state} (${job.reason})` : job.state,
    };
  }

  async cancel(externalId: string, graceMs: number): Promise<void> {
    const jobId = externalId.trim();
    const ended = async () => (await this.status(jobId)).state === 'EXITED';
    if (await ended()) return;
    try {
      await this.run('scancel', ['--signal=TERM', '--full', jobId]);
    } catch (err) {
      if (!isInvalidJob(err) && !isAlreadyDone(err)) throw err;
    }
    const step = Math.min(250, Math.max(50, graceMs / 10));
    const graceEnd = Date.now() + Math.max(0, graceMs);
    while (Date.now() < graceEnd) {
      if (await ended()) return;
      await sleep(step);
    }
    if (await ended()) return;
    try {
      await this.run('scancel', [jobId]);
    } catch (err) {
      if (!isInvalidJob(err) && !isAlreadyDone(err)) throw err;
    }
    const waitEnd = Date.now() + (this.options.cancelWaitMs ?? 60000);
    while (Date.now() < waitEnd) {
      if (await ended()) return;
      await sleep(250);
    }
  }

  /** Stops following the jobs (they keep running; onExit will not be called). */
  close(): Promise<void> {
    for (const job of this.jobs.values()) {
      job.done = true;
      clearTimeout(job.timer);
    }
    this.jobs.clear();
    return Promise.resolve();
  }
}

/**
 * The token file: created afresh (never through a file or link already there), readable by this
 * user only. No token, no file.
 */
async function writeTokenFile(file: string, token: string | undefined): Promise<void> {
  await fs.promises.rm(file, { force: true });
  if (token === undefined) return;
  await fs.promises.writeFile(file, token, { mode: 0o600, flag: 'wx' });
}

/** The token file beside one of our batch scripts (stagewise-run-<id>.sbatch); else undefined. */
export function tokenFileOfScript(script: string | undefined): string | undefined {
  if (!script || !/^stagewise-run-\d+\.sbatch$/.test(path.basename(script))) return undefined;
  return script.replace(/\.sbatch$/, '.token');
}

function unknownToSlurm(jobId: string): Exited {
  return {
    state: 'EXITED',
    exitCode: null,
    signal: null,
    reason: `UNKNOWN_TO_SLURM: Slurm does not know job ${jobId} (it ended more than MinJobAge ago, or never existed)`,
  };
}

function isInvalidJob(err: unknown): boolean {
  return err instanceof CommandError && /Invalid job id/i.test(err.stderr);
}

function isAlreadyDone(err: unknown): boolean {
  return err instanceof CommandError && /already completing or completed/i.test(err.stderr);
}
