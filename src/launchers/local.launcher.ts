/**
 * Runs the runner as a child process of this machine. The child leads a process group of its own
 * (`detached: true`), so a cancel reaches everything it started: SIGTERM to the group, SIGKILL to
 * the group after the grace period. The job's id is `pid:starttime` (the start time from
 * /proc/<pid>/stat, in clock ticks since boot), so a later API process can tell the runner from
 * an unrelated process that reused its pid.
 *
 * The runner writes stdout and stderr into files of its work dir (stagewise-run-<id>.out and
 * .err), which the launcher tails into hooks.onLog. Not pipes: a runner must outlive the API
 * process that started it (a pipe to a dead API would fail its next write with EPIPE), and the
 * files keep the whole log for anyone to read afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { FileTail } from './file-tail';
import type { JobState, LaunchedJob, Launcher, LauncherHooks, LaunchRequest } from './launcher';

export interface LocalLauncherOptions {
  /** Pass this process's environment to the runner under the request's env (default true). */
  inheritEnv?: boolean;
  /**
   * When the runner exits, stop whatever it left behind in its process group: SIGTERM, then
   * SIGKILL after this many ms (default 2000; 0 = SIGKILL at once; null = leave them).
   */
  reapGroupAfterExitMs?: number | null;
  /** How often the output files are read for new lines while the runner runs (default 250 ms). */
  logPollMs?: number;
}

type Exited = Extract<JobState, { state: 'EXITED' }>;

/** What /proc/<pid>/stat says about a process (fields 3, 5 and 22). */
export interface ProcStat {
  pid: number;
  state: string;
  pgid: number;
  startTime: string;
}

export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': cut at the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0], pgid: Number(rest[2]), startTime: rest[19] };
}

/** The live (not zombie) processes of a process group, found by scanning /proc. */
export function processGroupMembers(pgid: number): ProcStat[] {
  const found: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name));
    if (st && st.pgid === pgid && st.state !== 'Z' && st.state !== 'X') found.push(st);
  }
  return found;
}

export function parseLocalExternalId(externalId: string): { pid: number; startTime?: string } {
  const m = /^(\d+)(?::(\d+))?$/.exec(externalId.trim());
  if (!m) throw new Error(`not a local job id (pid:starttime): ${externalId}`);
  return { pid: Number(m[1]), startTime: m[2] };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the group has no live member, up to `ms`; true when it is empty. */
async function waitGroupEmpty(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (processGroupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

/** SIGTERM to the group, SIGKILL after `graceMs` if any member is left; resolves when none is. */
async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  if (graceMs > 0) {
    if (!signalGroup(pgid, 'SIGTERM')) return;
    if (await waitGroupEmpty(pgid, graceMs)) return;
  }
  if (!signalGroup(pgid, 'SIGKILL')) return;
  await waitGroupEmpty(pgid, 5000);
}

interface Tracked {
  runId: number;
  child: ChildProcess;
  timer?: NodeJS.Timeout;
  exited?: Exited;
}

export class LocalLauncher implements Launcher {
  readonly name = 'local';
  private readonly jobs = new Map<string, Tracked>();
  private closed = false;

  constructor(private readonly options: LocalLauncherOptions = {}) {}

  /** The files the runner's stdout and stderr go to. */
  static logFiles(request: Pick<LaunchRequest, 'runId' | 'workDir'>) {
    const base = path.join(request.workDir, `stagewise-run-${request.runId}`);
    return { out: `${base}.out`, err: `${base}.err` };
  }

  async launch(request: LaunchRequest, hooks: LauncherHooks): Promise<LaunchedJob> {
    const [file, ...args] = request.command;
    if (!file) throw new Error('launch: empty command');
    await fs.promises.mkdir(request.workDir, { recursive: true });
    const env = { ...(this.options.inheritEnv === false ? {} : process.env), ...request.env };
    // Appended to (a relaunch in the same work dir keeps the earlier attempt's lines); the
    // tails start at the current ends.
    // On a full disk (no inode left) either open throws ENOSPC: the launch fails with it, and
    // no descriptor is left open in this long-lived process.
    const files = LocalLauncher.logFiles(request);
    const fds: number[] = [];
    let child: ChildProcess;
    let out: FileTail;
    let err: FileTail;
    try {
      const outFd = fs.openSync(files.out, 'a');
      fds.push(outFd);
      const errFd = fs.openSync(files.err, 'a');
      fds.push(errFd);
      out = new FileTail(files.out, fs.fstatSync(outFd).size);
      err = new FileTail(files.err, fs.fstatSync(errFd).size);
      // The runner token travels in this environment only: not in argv (any user can read
      // /proc/<pid>/cmdline) and not in a file of the work dir.
      child = spawn(file, args, {
        cwd: request.workDir,
        env,
        detached: true,
        stdio: ['ignore', outFd, errFd],
      });
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
    // The pid is known at once when the spawn worked; the child cannot be reaped before this
    // synchronous code ends, so its /proc entry (a zombie at worst) is still there to read.
    const pid = child.pid;
    const stat = pid === undefined ? null : readProcStat(pid);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    if (pid === undefined) throw new Error(`launch: could not start ${file}`);
    const externalId = stat ? `${pid}:${stat.startTime}` : String(pid);
    const job: Tracked = { runId: request.runId, child };
    this.jobs.set(externalId, job);

    const readLogs = (final: boolean) =>
      Promise.all([
        out.read((line) => hooks.onLog?.(request.runId, 'stdout', line), final),
        err.read((line) => hooks.onLog?.(request.runId, 'stderr', line), final),
      ]).catch(() => undefined);
    const poll = () => {
      job.timer = setTimeout(() => {
        void readLogs(false).then(() => {
          if (!job.exited && !this.closed) poll();
        });
      }, this.options.logPollMs ?? 250);
    };
    poll();
    child.on('error', () => {
      // A failed kill() etc.; the exit event still follows for a process that ran.
    });
    child.once('exit', (code, signal) => {
      job.exited = { state: 'EXITED', exitCode: code, signal };
      clearTimeout(job.timer);
      const reapMs =
        this.options.reapGroupAfterExitMs === undefined ? 2000 : this.options.reapGroupAfterExitMs;
      if (reapMs !== null && processGroupMembers(pid).length > 0) {
        stopGroup(pid, reapMs).catch(() => undefined);
      }
      // After close() this process follows the job no more: a later API adopts it.
      if (!this.closed) void readLogs(true).then(() => hooks.onExit?.(request.runId, job.exited!));
    });
    return { externalId };
  }

  status(externalId: string): Promise<JobState> {
    return Promise.resolve(this.statusSync(externalId));
  }

  private statusSync(externalId: string): JobState {
    const tracked = this.jobs.get(externalId);
    if (tracked?.exited) return tracked.exited;
    const { pid, startTime } = parseLocalExternalId(externalId);
    const gone = (reason: string): JobState => ({
      state: 'EXITED',
      exitCode: null,
      signal: null,
      reason,
    });
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
        return gone(
          `process ${pid} is gone (its exit code is known only to the process that started it)`,
        );
      }
      // EPERM: it exists but belongs to another user; /proc tells whether it is ours.
    }
    const stat = readProcStat(pid);
    if (!stat) return gone(`process ${pid} is gone`);
    if (startTime !== undefined && stat.startTime !== startTime) {
      return gone(`process ${pid} is gone (the pid now belongs to another process)`);
    }
    if (stat.state === 'Z' || stat.state === 'X') {
      return gone(`process ${pid} has exited (a zombie not yet reaped by its parent)`);
    }
    return { state: 'RUNNING' };
  }

  async cancel(externalId: string, graceMs: number): Promise<void> {
    const { pid, startTime } = parseLocalExternalId(externalId);
    const stat = readProcStat(pid);
    // A live process with another start time is not ours: the pid was reused, which Linux does
    // only once no process group uses it as its id either, so our runner's group is gone too.
    if (stat && startTime !== undefined && stat.startTime !== startTime) return;
    await stopGroup(pid, Math.max(0, graceMs));
  }

  /** Stops nothing: the jobs keep running; only this process stops tracking them. */
  close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.child.unref();
    }
    this.jobs.clear();
    return Promise.resolve();
  }
}
