import type { EntityManager } from 'typeorm';
import {
  withTransaction,
  type RequestContext,
  type TransactionContext,
} from '../../common/request-context';
import { badInput, conflict } from '../../common/errors';
import { conflictOnDuplicate } from '../../common/pg-errors';
import { toGlobalId } from '../../common/ids';
import { loadNode } from '../../common/load-node';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Dataset, DatasetSplit } from '../datasets/dataset.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';
import { Run, RunStage } from '../runs/run.entity';
import { isTerminal } from '../runs/run.types';
import { validateStageConfig } from '../runs/run.types';
import { Curriculum, type CurriculumAblation, CurriculumStatus } from './curriculum.entity';
import { CurriculumDataset } from './curriculum-dataset.entity';
import type { CreateCurriculumInput } from './curriculum.inputs';
import type { AfterCommit } from '../runs/run.service';
import { CurriculumEngine, type CurriculumCollaborators } from './curriculum.engine';

/** A new curriculum's fields, its inputs resolved to row ids. */
export interface CurriculumSpec {
  name: string;
  baseCheckpointId: number;
  policyId: number;
  rounds: number;
  launcher: string;
  stageConfigs: Record<string, Record<string, unknown>>;
  autoAdvance: boolean;
  computeBudget: number | null;
  ablations: CurriculumAblation[];
  trainDatasetIds: number[];
  evalDatasetIds: number[];
}

/** Curricula: created here, advanced by the engine (on its own, or by advanceCurriculum). */
export class CurriculumService {
  constructor(private readonly deps: CurriculumCollaborators) {}

  list(ctx: RequestContext, status: CurriculumStatus | undefined, page: PageArgs) {
    const q = ctx.ds.getRepository(Curriculum).createQueryBuilder('c');
    if (status) q.andWhere('c.status = :status', { status });
    return keysetPage(ctx.cursors, q, page);
  }

  async create(ctx: RequestContext, input: CreateCurriculumInput): Promise<Curriculum> {
    const train = await Promise.all(input.datasetIds.map((id) => loadNode(ctx, Dataset, id)));
    const evals = await Promise.all(
      (input.evalDatasetIds ?? []).map((id) => loadNode(ctx, Dataset, id)),
    );
    const wrongSplit = evals.find((d) => d.split !== DatasetSplit.EVAL);
    if (wrongSplit) throw badInput(`Dataset ${wrongSplit.name} is not an EVAL dataset`);
    const overlap = train.find((d) => evals.some((e) => e.id === d.id));
    if (overlap) throw badInput(`Dataset ${overlap.name} cannot be both trained and evaluated on`);
    const base = await loadNode(ctx, Checkpoint, input.baseCheckpointId);
    const policy = await loadNode(ctx, RoutingPolicy, input.policyId);
    const stageConfigs = input.stageConfigs ?? {};
    for (const [stage, config] of Object.entries(stageConfigs)) {
      if (!(stage in RunStage)) {
        throw badInput(
          `stageConfigs: unknown stage "${stage}" (one of ${Object.keys(RunStage).join(', ')})`,
        );
      }
      if (typeof config !== 'object' || config === null || Array.isArray(config)) {
        throw badInput(`stageConfigs.${stage} must be an object`);
      }
      validateStageConfig(stage as RunStage, config);
    }
    if (new Set(input.ablations ?? []).size !== (input.ablations ?? []).length) {
      throw badInput('ablations: each ablation once');
    }
    const taken = () => conflict(`A curriculum named "${input.name}" already exists`);
    const insert = () =>
      withTransaction(ctx, async ({ manager: m }) => {
        if (await m.getRepository(Curriculum).existsBy({ name: input.name })) throw taken();
        return this.createIn(m, {
          name: input.name,
          baseCheckpointId: base.id,
          policyId: policy.id,
          rounds: input.rounds,
          launcher: input.launcher,
          stageConfigs,
          autoAdvance: input.autoAdvance,
          computeBudget: input.computeBudget ?? null,
          ablations: input.ablations ?? [],
          trainDatasetIds: train.map((d) => d.id),
          evalDatasetIds: evals.map((d) => d.id),
        });
      });
    // Another request may take the name between the check and the insert.
    return conflictOnDuplicate('curricula', insert, taken);
  }

  /**
   * Inserts a curriculum and its dataset links in the caller's transaction (the experiments'
   * method arms make theirs here); the inputs are already checked. It starts on the next tick.
   */
  async createIn(m: EntityManager, spec: CurriculumSpec): Promise<Curriculum> {
    const { trainDatasetIds, evalDatasetIds, ...fields } = spec;
    const c = await m.getRepository(Curriculum).save(m.getRepository(Curriculum).create(fields));
    await m.getRepository(CurriculumDataset).save([
      ...trainDatasetIds.map((datasetId) => ({
        curriculumId: c.id,
        datasetId,
        role: 'TRAIN' as const,
      })),
      ...evalDatasetIds.map((datasetId) => ({
        curriculumId: c.id,
        datasetId,
        role: 'EVAL' as const,
      })),
    ]);
    return c;
  }

  /** Moves the curriculum on as far as it can go now (the next run, or set-based steps). */
  async advance(ctx: RequestContext, globalId: string): Promise<Curriculum> {
    const c = await loadNode(ctx, Curriculum, globalId);
    if (c.status !== CurriculumStatus.ACTIVE) {
      throw conflict(
        `Curriculum ${c.name} is ${c.status}${c.pauseReason ? ` (${c.pauseReason})` : ''}`,
      );
    }
    return this.advanceOrPause(ctx, c.id);
  }

  /** Resumes a PAUSED curriculum (after fixing what paused it, or retrying its run). */
  async resume(ctx: RequestContext, globalId: string): Promise<Curriculum> {
    const c = await loadNode(ctx, Curriculum, globalId);
    if (c.status !== CurriculumStatus.PAUSED) {
      throw conflict(`Curriculum ${c.name} is ${c.status}, not PAUSED`);
    }
    await ctx.ds
      .getRepository(Curriculum)
      .update({ id: c.id }, { status: CurriculumStatus.ACTIVE, pauseReason: null });
    await this.deps.announcer.curriculumUpdated(c.id);
    return this.advanceOrPause(ctx, c.id);
  }

  /**
   * Cancels the curriculum and its live run. The status is set under the row lock, so a step in
   * flight finishes first and the run it started is the one cancelled; no step starts another.
   */
  async cancel(ctx: RequestContext, globalId: string): Promise<Curriculum> {
    const { id } = await loadNode(ctx, Curriculum, globalId);
    const currentRunId = await withTransaction(ctx, async ({ manager: m }) => {
      await m.query('SELECT id FROM curricula WHERE id = $1 FOR UPDATE', [id]);
      const c = await m.getRepository(Curriculum).findOneByOrFail({ id });
      if (c.status === CurriculumStatus.SUCCEEDED || c.status === CurriculumStatus.CANCELLED) {
        throw conflict(`Curriculum ${c.name} is already ${c.status}`);
      }
      await m.getRepository(Curriculum).update({ id }, { status: CurriculumStatus.CANCELLED });
      return c.currentRunId;
    });
    if (currentRunId) {
      const run = await ctx.ds.getRepository(Run).findOneByOrFail({ id: currentRunId });
      if (!isTerminal(run.status)) await this.deps.runs.cancel(ctx, toGlobalId('Run', run.id));
    }
    await this.deps.announcer.curriculumUpdated(id);
    return ctx.ds.getRepository(Curriculum).findOneByOrFail({ id });
  }

  /**
   * A retry of the run a paused curriculum waits on resumes the curriculum with the new run, in
   * the retry's transaction (RunService.onRetry; src/app/services.ts wires it).
   */
  async resumeAfterRetry(tx: TransactionContext, old: Run, retry: Run): Promise<AfterCommit> {
    const curriculumId = old.curriculumId;
    if (curriculumId === null) return () => Promise.resolve();
    const [rows] = await tx.manager.query<[{ id: number }[], number]>(
      `UPDATE curricula SET current_run_id = $2, status = 'ACTIVE', pause_reason = NULL, updated_at = now()
       WHERE id = $3 AND current_run_id = $1 AND status IN ('ACTIVE', 'PAUSED') RETURNING id`,
      [old.id, retry.id, curriculumId],
    );
    return async () => {
      if (rows.length > 0) await this.deps.announcer.curriculumUpdated(curriculumId);
    };
  }

  /** One pass over the ACTIVE auto-advancing curricula; a failed step pauses its curriculum. */
  async tick(ctx: RequestContext): Promise<void> {
    const rows = await ctx.ds.query<{ id: number }[]>(
      `SELECT id FROM curricula WHERE status = 'ACTIVE' AND auto_advance ORDER BY id`,
    );
    for (const { id } of rows) await this.advanceOrPause(ctx, id);
  }

  /** Advances; a step that throws (a set-based step, a manifest) pauses with the reason. */
  private async advanceOrPause(ctx: RequestContext, id: number): Promise<Curriculum> {
    try {
      return await this.engine(ctx).advance(id);
    } catch (err) {
      ctx.log.error({ err, curriculumId: id }, 'curriculum step failed; pausing it');
      await this.pauseOnError(ctx, id, err);
      return ctx.ds.getRepository(Curriculum).findOneByOrFail({ id });
    }
  }

  private async pauseOnError(ctx: RequestContext, id: number, err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    // Only an ACTIVE one: a cancel may have committed since the failed step let go of the row.
    await ctx.ds.getRepository(Curriculum).update(
      { id, status: CurriculumStatus.ACTIVE },
      {
        status: CurriculumStatus.PAUSED,
        pauseReason: `A step failed: ${message}; fix it and resumeCurriculum`,
      },
    );
    await this.deps.announcer.curriculumUpdated(id);
  }

  private engine(ctx: RequestContext): CurriculumEngine {
    return new CurriculumEngine(ctx, this.deps);
  }
}
