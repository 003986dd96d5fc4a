import fs from 'node:fs';
import path from 'node:path';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import type { Launcher } from '../../launchers/launcher';
import { toGlobalId } from '../../common/ids';
import type { ApiKeyService } from '../api-keys/api-key.service';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import { Run, RunStatus } from './run.entity';
import type { RunJournal } from './run-journal';
import type { RunDispatch } from './run.service';
import type { RunSupervisor } from './run.supervisor';
import { isTerminal, LIVE } from './run-status';
import { InFlightJobs, type JobQueue } from '../../common/db/job-queue';
import type { ContextFactory, RequestContext } from '../../common/request-context';

export interface DispatcherOptions {
  launchers: Record<string, Launcher>;
  /** Runs at once per launcher, across every API process. */
  maxConcurrent: Record<string, number>;
  runnerCommand: string[];
  runnerEnv: Record<string, string>;
  runsDir: string;
  cancelGraceMs: number;
  /** The API's URL as runners reach it; known once the server listens. */
  publicUrl: () => string;
}

/** A slot is looked for this often while a launcher is at its limit. */
const SLOT_POLL_MS = 1_000;
/** An idle queue is polled this often (pg-boss's minimum is 0.5 s; its default 2 s). */
const QUEUE_POLL_SECONDS = 1;
/** How long close waits for a launch under way. */
const CLOSE_TIMEOUT_MS = 10_000;
/** A job may wait this long for a free slot (pg-boss caps a job's lifetime below 24 h). */
const JOB_EXPIRE_HOURS = 23;

const queueName = (launcher: string) => `runs-${launcher}`;

/**
 * Runs go through a durable queue (pg-boss), one queue and one worker per launcher. The worker
 * takes a QUEUED run, waits until its launcher has a free slot (fewer LIVE runs than its limit,
 * counted across every API process), moves it to STARTING, gives it a runner key and launches
 * it. The run then holds its slot until it ends; the job is done.
 */
export class RunDispatcher implements RunDispatch {
  private readonly boss: JobQueue;
  private readonly inFlight = new InFlightJobs();
  private stopping = false;

  constructor(
    private readonly deps: {
      ds: DataSource;
      journal: RunJournal;
      apiKeys: ApiKeyService;
      supervisor: RunSupervisor;
      /** A job's context (the SYSTEM principal): the journal writes in its transactions. */
      contextFor: ContextFactory;
      /** The process's job queue, started and stopped by the composition root. */
      queue: JobQueue;
      log: Logger;
    },
    private readonly opts: DispatcherOptions,
  ) {
    this.boss = deps.queue;
  }

  async start(): Promise<void> {
    for (const name of Object.keys(this.opts.maxConcurrent)) {
      await this.boss.createQueue(queueName(name), {
        name: queueName(name),
        retryLimit: 0,
        expireInHours: JOB_EXPIRE_HOURS,
      });
      // One worker per queue, so an idle queue costs one poll a second. Its job ends once the
      // run is launched: the run's LIVE row, not the job, holds the launcher's slot.
      const worker = await this.boss.work<{ runId: number }>(
        queueName(name),
        { batchSize: 1, pollingIntervalSeconds: QUEUE_POLL_SECONDS },
        async ([job]) => {
          const ctx = this.deps.contextFor(`${queueName(name)}:${job.id}`);
          await this.inFlight.track(this.handle(ctx, job.data.runId));
          // More may be waiting: fetch again at once instead of after the polling interval.
          this.boss.notifyWorker(worker);
        },
      );
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    // A handler waiting for a slot returns at its next check; one launching finishes first.
    for (const name of Object.keys(this.opts.maxConcurrent))
      await this.boss.offWork(queueName(name));
    await this.inFlight.settle(CLOSE_TIMEOUT_MS);
  }

  async enqueue(manager: EntityManager, run: Run): Promise<void> {
    await this.boss.send(
      queueName(run.launcher),
      { runId: run.id },
      {
        // The job may wait hours for a free slot; the queue default would expire it after 15 min.
        expireInHours: JOB_EXPIRE_HOURS,
        db: {
          // pg-boss inserts the job through our transaction: no run without its job.
          executeSql: (text, values) =>
            manager.query<unknown[]>(text, values).then((rows) => ({ rows })),
        },
      },
    );
  }

  async stop(run: Run): Promise<void> {
    const launcher = this.opts.launchers[run.launcher];
    if (run.externalId && launcher) await launcher.cancel(run.externalId, this.opts.cancelGraceMs);
  }

  private async activeRuns(launcher: string): Promise<number> {
    return this.deps.ds
      .getRepository(Run)
      .createQueryBuilder('r')
      .where('r.launcher = :launcher AND r.status = ANY(:live)', { launcher, live: LIVE })
      .getCount();
  }

  private async handle(ctx: RequestContext, runId: number): Promise<void> {
    const run = await this.deps.ds.getRepository(Run).findOneBy({ id: runId });
    if (!run || run.status !== RunStatus.QUEUED) return; // cancelled while queued
    const limit = this.opts.maxConcurrent[run.launcher] ?? 1;
    // Runs adopted after a restart, or started by another replica, hold slots too.
    while ((await this.activeRuns(run.launcher)) >= limit) {
      if (this.stopping) return;
      await new Promise((r) => setTimeout(r, SLOT_POLL_MS));
    }
    const moved = await this.deps.journal.locked(ctx, runId, async (r) => {
      if (r.run.status !== RunStatus.QUEUED) return false;
      await r.move(RunStatus.STARTING, { detail: { launcher: r.run.launcher } });
      return true;
    });
    if (!moved) return;
    try {
      await this.launch(ctx, run);
    } catch (err) {
      this.deps.log.error({ err, runId }, 'launch failed');
      await this.deps.journal.locked(ctx, runId, async (r) => {
        if (r.run.status === RunStatus.STARTING || r.run.status === RunStatus.CANCELLING) {
          await r.move(RunStatus.FAILED, {
            error: `The ${run.launcher} launcher could not start the runner: ${(err as Error).message}`,
          });
        }
        // The launch failed: no process runs, so no output will follow the failure.
        if (isTerminal(r.run.status)) r.closeEvents();
      });
      await this.deps.supervisor.settle(runId);
    }
  }

  private async launch(ctx: RequestContext, run: Run): Promise<void> {
    const launcher = this.opts.launchers[run.launcher];
    if (!launcher) throw new Error(`no launcher named ${run.launcher} is configured`);
    const workDir = path.resolve(this.opts.runsDir, `run-${run.id}-attempt-${run.attempt}`);
    fs.mkdirSync(workDir, { recursive: true });
    const { key } = await this.deps.apiKeys.create({
      name: `runner-${run.id}`,
      scopes: [ApiKeyScope.RUNNER],
      runId: run.id,
    });
    const runGlobalId = toGlobalId('Run', run.id);
    const job = await launcher.launch(
      {
        runId: run.id,
        runGlobalId,
        command: this.opts.runnerCommand,
        workDir,
        env: {
          ...this.opts.runnerEnv,
          STAGEWISE_API_URL: this.opts.publicUrl(),
          STAGEWISE_RUN_ID: runGlobalId,
          STAGEWISE_RUN_TOKEN: key,
          STAGEWISE_WORK_DIR: workDir,
        },
      },
      {
        onLog: (runId, stream, line) => this.deps.supervisor.onLog(runId, stream, line),
        onExit: (runId, state) => {
          this.deps.supervisor
            .onExit(runId, state)
            .catch((err: unknown) => this.deps.log.error({ err, runId }, 'exit handling failed'));
        },
      },
    );
    await this.deps.journal.locked(ctx, run.id, (r) => {
      r.set({ externalId: job.externalId });
      return Promise.resolve();
    });
    // A cancel that came while launching: the run is CANCELLING and now has a job to stop.
    const now = await this.deps.ds.getRepository(Run).findOneByOrFail({ id: run.id });
    if (now.status === RunStatus.CANCELLING) await this.stop(now);
  }
}
