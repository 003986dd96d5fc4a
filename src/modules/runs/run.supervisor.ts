import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Launcher, JobState } from '../../launchers/launcher';
import type { ApiKeyService } from '../api-keys/api-key.service';
import { Run, RunStatus } from './run.entity';
import { RunEventType } from './run-event.entity';
import type { RunJournal } from './run-journal';
import type { ContextFactory } from '../../common/request-context';
import { isTerminal, LIVE, TERMINAL } from './run-status';

/** Log lines of a runner are written in small batches, not one transaction per line. */
const LOG_FLUSH_MS = 250;
/** How many of the last log lines a failure message quotes. */
const LAST_LINES = 12;
/** Heartbeat timeouts a launcher may answer UNKNOWN before the run is given up. */
const UNKNOWN_PATIENCE = 5;
/**
 * How long after it ended a run's log stays open when this API never sees its process exit;
 * the runner's own grace to flush (the runner key is revoked after the same time).
 */
const CLOSE_LOG_AFTER_MS = 120_000;
/** How often live runs are checked for silence. */
const SWEEP_INTERVAL_MS = 5_000;

type Exited = Extract<JobState, { state: 'EXITED' }>;

/**
 * Watches live runs: records their launcher's log lines, decides their outcome when the runner
 * process ends, fails runs that went silent and are gone, and reconciles live runs with their
 * launchers when the API starts.
 */
export class RunSupervisor {
  private readonly pendingLogs = new Map<number, { stream: string; line: string; at: Date }[]>();
  private flushTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private readonly flushing = new Map<number, Promise<void>>();

  constructor(
    private readonly deps: {
      ds: DataSource;
      journal: RunJournal;
      /** The context of one piece of its work (the SYSTEM principal), for the journal. */
      contextFor: ContextFactory;
      apiKeys: ApiKeyService;
      launchers: Record<string, Launcher>;
      heartbeatTimeoutMs: number;
      log: Logger;
    },
  ) {}

  start(): void {
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.deps.log.error({ err }, 'run sweep failed'));
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearTimeout(this.flushTimer);
    await this.flushLogs();
  }

  onLog(runId: number, stream: string, line: string): void {
    const lines = this.pendingLogs.get(runId) ?? [];
    lines.push({ stream, line, at: new Date() });
    this.pendingLogs.set(runId, lines);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flushLogs().catch((err: unknown) => this.deps.log.error({ err }, 'log flush failed'));
    }, LOG_FLUSH_MS);
  }

  private async flushLogs(only?: number): Promise<void> {
    const runIds = only === undefined ? [...this.pendingLogs.keys()] : [only];
    for (const runId of runIds) await this.flushRunLogs(runId);
  }

  /**
   * Stores a run's pending lines. Flushes of one run are chained: when onExit's flush returns,
   * a timer's flush that took lines earlier has committed them too, so the log closes after
   * every line.
   */
  private flushRunLogs(runId: number): Promise<void> {
    const previous = this.flushing.get(runId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined) // that flush's failure was reported to its own caller
      .then(async () => {
        const lines = this.pendingLogs.get(runId);
        if (!lines?.length) return;
        this.pendingLogs.delete(runId);
        const ctx = this.deps.contextFor(`run-${runId}:logs`);
        await this.deps.journal.locked(ctx, runId, async (r) => {
          if (r.run.eventsClosedAt !== null) {
            // Closed by the sweep after its grace, with the process still writing: the lines
            // stay in the runner's output files, but the log subscribers read is final.
            this.deps.log.warn({ runId, lines: lines.length }, 'log lines after the log closed');
            return;
          }
          await r.record(
            lines.map((l) => ({
              type: RunEventType.LOG,
              payload: { stream: l.stream, line: l.line },
              at: l.at,
            })),
          );
        });
      });
    this.flushing.set(runId, next);
    const forget = () => {
      if (this.flushing.get(runId) === next) this.flushing.delete(runId);
    };
    next.then(forget, forget);
    return next;
  }

  /**
   * The runner process ended: record how, settle the run if the runner did not, and close its
   * event log (its launcher has read the last output lines by now, and they are stored).
   */
  async onExit(runId: number, state: Exited): Promise<void> {
    await this.flushLogs(runId);
    const lastLines = await this.lastLogLines(runId);
    await this.deps.journal.locked(this.deps.contextFor(`run-${runId}:exit`), runId, async (r) => {
      const exit = { exitCode: state.exitCode, exitSignal: state.signal };
      if (isTerminal(r.run.status)) {
        if (r.run.eventsClosedAt === null) r.set(exit); // a second exit report changes nothing
      } else if (r.run.status === RunStatus.CANCELLING) {
        await r.move(RunStatus.CANCELLED, exit);
      } else {
        const how = state.signal
          ? `was killed by ${state.signal}`
          : state.exitCode !== null
            ? `exited with code ${state.exitCode}`
            : 'ended';
        const reason = state.reason ? ` (${state.reason})` : '';
        await r.move(RunStatus.FAILED, {
          ...exit,
          error: `The runner ${how}${reason} before reporting an outcome.${lastLines ? `\nLast lines:\n${lastLines}` : ''}`,
        });
      }
      r.closeEvents();
    });
    await this.settle(runId);
  }

  /** After a run ends: its runner key stops working, here and in every other API process. */
  async settle(runId: number): Promise<void> {
    await this.deps.apiKeys.revokeRunKeys(runId);
  }

  private async lastLogLines(runId: number): Promise<string> {
    const rows = await this.deps.ds.query<{ line: string }[]>(
      `SELECT payload->>'line' AS line FROM run_events
       WHERE run_id = $1 AND type = 'LOG' ORDER BY seq DESC LIMIT ${LAST_LINES}`,
      [runId],
    );
    return rows
      .map((r) => r.line)
      .reverse()
      .join('\n');
  }

  /**
   * Live runs silent past the heartbeat timeout are asked about: gone from their launcher means
   * FAILED, with the reason. A run its launcher still knows is left alone.
   */
  async sweep(): Promise<void> {
    const silent = await this.deps.ds
      .getRepository(Run)
      .createQueryBuilder('r')
      .where('r.status = ANY(:live)', { live: LIVE })
      .andWhere(
        `coalesce(r.heartbeatAt, r.startedAt, r.createdAt) < now() - make_interval(secs => :timeout)`,
        { timeout: this.deps.heartbeatTimeoutMs / 1000 },
      )
      .getMany();
    for (const run of silent) await this.checkWithLauncher(run, 'it sent no heartbeat');
    await this.closeForgottenLogs();
    // Runner keys of finished runs whose process this API never saw exit (adopted after a
    // restart): the runner had its grace to flush; the key goes.
    await this.deps.apiKeys.revokeKeysOfEndedRuns(CLOSE_LOG_AFTER_MS / 1000);
  }

  /**
   * Ended runs whose log is still open past the grace: their exit was never seen here (a run
   * adopted after a restart, a launcher that lost the job). Closed unless the job still runs,
   * so their subscribers complete.
   */
  private async closeForgottenLogs(): Promise<void> {
    const open = await this.deps.ds
      .getRepository(Run)
      .createQueryBuilder('r')
      .where('r.status = ANY(:terminal)', { terminal: TERMINAL })
      .andWhere('r.eventsClosedAt IS NULL')
      .andWhere('r.finishedAt < now() - make_interval(secs => :grace)', {
        grace: CLOSE_LOG_AFTER_MS / 1000,
      })
      .getMany();
    for (const run of open) {
      const launcher = this.deps.launchers[run.launcher];
      const state: JobState =
        run.externalId && launcher ? await launcher.status(run.externalId) : { state: 'UNKNOWN' };
      if (state.state === 'PENDING' || state.state === 'RUNNING') continue;
      await this.flushLogs(run.id);
      await this.deps.journal.locked(this.deps.contextFor(`run-${run.id}:close-log`), run.id, (r) =>
        Promise.resolve(r.closeEvents()),
      );
    }
  }

  /** On API start: live runs whose jobs are gone fail; the others are watched again. */
  async reconcile(): Promise<void> {
    const live = await this.deps.ds
      .getRepository(Run)
      .createQueryBuilder('r')
      .where('r.status = ANY(:live)', { live: LIVE })
      .getMany();
    for (const run of live) await this.checkWithLauncher(run, 'the API restarted');
  }

  private silentFor(run: Run, timeouts: number): boolean {
    const last = (run.heartbeatAt ?? run.startedAt ?? run.createdAt).getTime();
    return Date.now() - last > timeouts * this.deps.heartbeatTimeoutMs;
  }

  private async checkWithLauncher(run: Run, why: string): Promise<void> {
    const launcher = this.deps.launchers[run.launcher];
    const state: JobState =
      run.externalId && launcher ? await launcher.status(run.externalId) : { state: 'UNKNOWN' };
    if (state.state === 'PENDING' || state.state === 'RUNNING') return;
    // UNKNOWN is "cannot tell now" (a Slurm controller or a cluster briefly unreachable): wait,
    // unless the run never got a job or has been silent for UNKNOWN_PATIENCE timeouts.
    if (state.state === 'UNKNOWN' && run.externalId && !this.silentFor(run, UNKNOWN_PATIENCE)) {
      this.deps.log.warn(
        { runId: run.id, launcher: run.launcher },
        'launcher cannot tell; will ask again',
      );
      return;
    }
    // The launcher's own words when it has them (e.g. "process 123 is gone").
    const reason =
      state.state !== 'EXITED'
        ? `${why}, and its launcher no longer knows it`
        : state.reason
          ? `${why}, and ${state.reason}`
          : `${why}, and its job ended (exit code ${state.exitCode}, signal ${state.signal})`;
    await this.onExit(run.id, {
      state: 'EXITED',
      exitCode: state.state === 'EXITED' ? state.exitCode : null,
      signal: state.state === 'EXITED' ? state.signal : null,
      reason,
    });
  }
}
