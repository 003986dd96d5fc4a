import type { EntityManager } from 'typeorm';
import {
  withTransaction,
  type RequestContext,
  type TransactionContext,
} from '../../common/request-context';
import { badInput, conflict } from '../../common/errors';
import { idOf } from '../../common/ids';
import { loadNode } from '../../common/load-node';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Manifest, ManifestPurpose } from '../manifests/manifest.entity';
import { Run, RunStatus } from './run.entity';
import { RunEventType } from './run-event.entity';
import type { RunFilter, StartRunInput } from './run.inputs';
import type { Announcer } from '../../common/pubsub/announcer';
import type { ManifestService } from '../manifests/manifest.service';
import { LockedRun, type RunJournal } from './run-journal';
import { validateStageConfig } from './stage-configs';

/** What the run service needs from the dispatcher: a durable enqueue and a stop signal. */
export interface RunDispatch {
  /** Enqueues in the caller's transaction, so a stored run is never left without its job. */
  enqueue(manager: EntityManager, run: Run): Promise<void>;
  /** Asks the launcher to stop a live run (SIGTERM, then SIGKILL after the grace period). */
  stop(run: Run): Promise<void>;
}

/** Work to do once a transaction has committed (announcements). */
export type AfterCommit = () => Promise<void>;

/**
 * Told of each retry inside the retry's transaction, so what follows from it commits with the
 * new run or not at all; returns what to announce after the commit. The curricula listen this way
 * (src/app/services.ts wires it), so runs need not know about curricula.
 */
export type RetryListener = (tx: TransactionContext, old: Run, retry: Run) => Promise<AfterCommit>;

/** What the run service works with, from the composition root (src/app/services.ts). */
export interface RunCollaborators {
  journal: RunJournal;
  manifests: ManifestService;
  announcer: Announcer;
  /** The queue runs are launched from; processes without one (tools) cannot start runs. */
  dispatch?: RunDispatch;
}

/** Runs: jobs of one stage each, started, cancelled and retried here; launched by the dispatcher. */
export class RunService {
  private readonly retryListeners: RetryListener[] = [];

  constructor(private readonly deps: RunCollaborators) {}

  /** Calls `listener` in the transaction of every retry from now on. */
  onRetry(listener: RetryListener): void {
    this.retryListeners.push(listener);
  }

  private dispatcher(): RunDispatch {
    if (!this.deps.dispatch) throw new Error('This process has no run dispatcher');
    return this.deps.dispatch;
  }

  list(ctx: RequestContext, filter: RunFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Run).createQueryBuilder('r');
    if (filter.status?.length) q.andWhere('r.status = ANY(:status)', { status: filter.status });
    if (filter.stage) q.andWhere('r.stage = :stage', { stage: filter.stage });
    if (filter.curriculumId) {
      q.andWhere('r.curriculumId = :c', { c: idOf('Curriculum', filter.curriculumId) });
    }
    if (filter.round !== undefined) q.andWhere('r.round = :round', { round: filter.round });
    return keysetPage(ctx.cursors, q, page);
  }

  /** Validates, freezes the manifest, stores the run QUEUED and enqueues it, in one transaction. */
  async start(ctx: RequestContext, input: StartRunInput): Promise<Run> {
    const config = validateStageConfig(input.stage, input.config ?? {});
    if (input.manifestId && input.selection) {
      throw badInput('Give either manifestId or selection, not both');
    }
    // Every stage reads its samples (prompts or training data) from a frozen manifest.
    if (!input.manifestId && !input.selection) {
      throw badInput(`A ${input.stage} run needs its samples: give manifestId or selection`);
    }
    const checkpoint = input.inputCheckpointId
      ? await loadNode(ctx, Checkpoint, input.inputCheckpointId)
      : null;
    const manifest = input.manifestId ? await loadNode(ctx, Manifest, input.manifestId) : null;
    if (manifest && !manifest.frozenAt)
      throw badInput(`Manifest ${input.manifestId} is not frozen`);
    return this.create(ctx, async (manager) => {
      const frozen =
        manifest ??
        (input.selection
          ? await this.deps.manifests.freeze(
              ctx,
              manager,
              ManifestPurpose[input.stage],
              input.selection,
            )
          : null);
      return {
        stage: input.stage,
        config,
        inputCheckpointId: checkpoint?.id ?? null,
        manifestId: frozen?.id ?? null,
        launcher: input.launcher,
      };
    });
  }

  /** A new attempt of a FAILED or CANCELLED run: same stage, config, input and manifest. */
  async retry(ctx: RequestContext, globalId: string): Promise<Run> {
    const old = await loadNode(ctx, Run, globalId);
    if (old.status !== RunStatus.FAILED && old.status !== RunStatus.CANCELLED) {
      throw conflict(`Run ${globalId} is ${old.status}; only FAILED or CANCELLED runs are retried`);
    }
    return this.create(
      ctx,
      () =>
        Promise.resolve({
          stage: old.stage,
          config: old.config,
          inputCheckpointId: old.inputCheckpointId,
          manifestId: old.manifestId,
          launcher: old.launcher,
          curriculumId: old.curriculumId,
          round: old.round,
          attempt: old.attempt + 1,
          retryOfId: old.id,
        }),
      async (tx, run) => {
        for (const listener of this.retryListeners) tx.afterCommit(await listener(tx, old, run));
      },
    );
  }

  /** QUEUED runs are cancelled at once; live ones go CANCELLING until their runner stops. */
  async cancel(ctx: RequestContext, globalId: string): Promise<Run> {
    const runId = Number(idOf('Run', globalId));
    const run = await this.deps.journal.locked(ctx, runId, async (r) => {
      if (r.run.status === RunStatus.QUEUED) {
        await r.move(RunStatus.CANCELLING);
        await r.move(RunStatus.CANCELLED, { detail: { reason: 'cancelled before it started' } });
        r.closeEvents(); // no process ran: nothing more will come
      } else {
        r.set({ cancelRequestedAt: new Date() });
        await r.move(RunStatus.CANCELLING);
      }
      return r.run;
    });
    if (run.status === RunStatus.CANCELLING) await this.dispatcher().stop(run);
    return run;
  }

  /**
   * A run a curriculum starts, inside the curriculum's transaction: the config is validated
   * like startRun's, and the job is enqueued in the same transaction. Announce it with
   * `announceCreated` after the commit.
   */
  async createIn(manager: EntityManager, fields: Partial<Run>): Promise<Run> {
    if (!fields.stage) throw new Error('createIn needs a stage');
    validateStageConfig(fields.stage, fields.config ?? {});
    return this.insertQueued(manager, fields);
  }

  async announceCreated(run: Run): Promise<void> {
    await this.deps.announcer.runEvents(run.id, run.lastSeq);
    await this.deps.announcer.runUpdated(run.id);
  }

  private async insertQueued(manager: EntityManager, fields: Partial<Run>): Promise<Run> {
    const saved = await manager.save(
      manager.getRepository(Run).create({ ...fields, status: RunStatus.QUEUED }),
    );
    const locked = new LockedRun(manager, saved);
    await locked.record([
      { type: RunEventType.STATUS, payload: { status: RunStatus.QUEUED, stage: saved.stage } },
    ]);
    await locked.flush();
    await this.dispatcher().enqueue(manager, saved);
    return saved;
  }

  private async create(
    ctx: RequestContext,
    fields: (manager: EntityManager) => Promise<Partial<Run>>,
    alsoInTransaction?: (tx: TransactionContext, run: Run) => Promise<void>,
  ): Promise<Run> {
    this.dispatcher();
    // Announced once the outermost transaction commits: inside a caller's, after the caller's.
    return withTransaction(ctx, async (tx) => {
      const created = await this.insertQueued(tx.manager, await fields(tx.manager));
      tx.afterCommit(() => this.announceCreated(created));
      await alsoInTransaction?.(tx, created);
      return created;
    });
  }
}
