import { withTransaction, type RequestContext } from '../../common/request-context';
import { AppError, badInput, conflict } from '../../common/errors';
import { conflictOnDuplicate } from '../../common/pg-errors';
import { toGlobalId } from '../../common/ids';
import { loadNode } from '../../common/load-node';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Dataset, DatasetSplit } from '../datasets/dataset.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';
import { RunStage } from '../runs/run.entity';
import { validateStageConfig } from '../runs/run.types';
import { type ArmResult, Experiment, ExperimentStatus } from './experiment.entity';
import { ExperimentEngine, type ExperimentCollaborators } from './experiment.engine';
import type { CreateExperimentInput } from './experiment.inputs';
import { CURRICULUM_ARMS } from './experiment.plans';
import { armResults } from './experiment.results';

const CONFIGURABLE = [
  RunStage.PROBE,
  RunStage.BRIDGE,
  RunStage.SFT,
  RunStage.RL,
  RunStage.CRITIQUE,
  RunStage.EVAL,
] as string[];

/** Experiments: created here, moved on by the engine on the curriculum ticker's pass. */
export class ExperimentService {
  constructor(private readonly deps: ExperimentCollaborators) {}

  list(ctx: RequestContext, status: ExperimentStatus | undefined, page: PageArgs) {
    const q = ctx.ds.getRepository(Experiment).createQueryBuilder('e');
    if (status) q.andWhere('e.status = :status', { status });
    return keysetPage(ctx.cursors, q, page);
  }

  async create(ctx: RequestContext, input: CreateExperimentInput): Promise<Experiment> {
    if (new Set(input.arms).size !== input.arms.length) throw badInput('arms: each arm once');
    const train = await Promise.all(input.trainDatasetIds.map((id) => loadNode(ctx, Dataset, id)));
    const evals = await Promise.all(input.evalDatasetIds.map((id) => loadNode(ctx, Dataset, id)));
    const wrongSplit = evals.find((d) => d.split !== DatasetSplit.EVAL);
    if (wrongSplit) throw badInput(`Dataset ${wrongSplit.name} is not an EVAL dataset`);
    const overlap = train.find((d) => evals.some((e) => e.id === d.id));
    if (overlap) throw badInput(`Dataset ${overlap.name} cannot be both trained and evaluated on`);
    const base = await loadNode(ctx, Checkpoint, input.baseCheckpointId);
    const methodArms = input.arms.filter((a) => CURRICULUM_ARMS[a]);
    if (methodArms.length > 0 && !input.policyId) {
      throw badInput(
        `policyId: the arms ${methodArms.join(', ')} run the method's curriculum and need a routing policy`,
      );
    }
    const policy = input.policyId ? await loadNode(ctx, RoutingPolicy, input.policyId) : null;
    const stageConfigs = input.stageConfigs ?? {};
    for (const [stage, config] of Object.entries(stageConfigs)) {
      if (!CONFIGURABLE.includes(stage)) {
        throw badInput(
          `stageConfigs: unknown stage "${stage}" (one of ${CONFIGURABLE.join(', ')})`,
        );
      }
      if (typeof config !== 'object' || config === null || Array.isArray(config)) {
        throw badInput(`stageConfigs.${stage} must be an object`);
      }
      validateStageConfig(stage as RunStage, config);
    }
    const taken = () => conflict(`An experiment named "${input.name}" already exists`);
    const insert = () =>
      withTransaction(ctx, async ({ manager: m }) => {
        if (await m.getRepository(Experiment).existsBy({ name: input.name })) throw taken();
        return m.getRepository(Experiment).save(
          m.getRepository(Experiment).create({
            name: input.name,
            baseCheckpointId: base.id,
            policyId: policy?.id ?? null,
            rounds: input.rounds,
            trainDatasetIds: train.map((d) => d.id),
            evalDatasetIds: evals.map((d) => d.id),
            armNames: input.arms,
            seeds: input.seeds,
            computeBudget: input.computeBudget,
            launcher: input.launcher,
            stageConfigs,
          }),
        );
      });
    const created = await conflictOnDuplicate('experiments', insert, taken);
    await this.deps.announcer.experimentUpdated(created.id);
    return this.advanceOrPause(ctx, created.id);
  }

  /**
   * Cancels the experiment: CANCELLED under its row lock (an engine pass in flight finishes
   * first; none after it starts anything, as the engine moves only ACTIVE experiments), then its
   * live runs and its curricula through their own services. What its finished seeds produced
   * stays, and so do its results.
   */
  async cancel(ctx: RequestContext, globalId: string): Promise<Experiment> {
    const { id } = await loadNode(ctx, Experiment, globalId);
    const parts = await withTransaction(ctx, async ({ manager: m }) => {
      await m.query('SELECT id FROM experiments WHERE id = $1 FOR UPDATE', [id]);
      const e = await m.getRepository(Experiment).findOneByOrFail({ id });
      if (e.status === ExperimentStatus.SUCCEEDED || e.status === ExperimentStatus.CANCELLED) {
        throw conflict(`Experiment ${e.name} is already ${e.status}`);
      }
      await m
        .getRepository(Experiment)
        .update({ id }, { status: ExperimentStatus.CANCELLED, pauseReason: null });
      const runs = await m.query<{ id: number }[]>(
        `SELECT r.id FROM experiment_runs er JOIN runs r ON r.id = er.run_id
         WHERE er.experiment_id = $1 AND r.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
         ORDER BY r.id`,
        [id],
      );
      const curricula = await m.query<{ id: number }[]>(
        `SELECT c.id FROM experiment_curricula ec JOIN curricula c ON c.id = ec.curriculum_id
         WHERE ec.experiment_id = $1 AND c.status IN ('ACTIVE', 'PAUSED') ORDER BY c.id`,
        [id],
      );
      return { runs, curricula };
    });
    try {
      for (const run of parts.runs) {
        await endedMeanwhile(this.deps.runs.cancel(ctx, toGlobalId('Run', run.id)));
      }
      for (const c of parts.curricula) {
        await endedMeanwhile(this.deps.curricula.cancel(ctx, toGlobalId('Curriculum', c.id)));
      }
    } finally {
      await this.deps.announcer.experimentUpdated(id);
    }
    return ctx.ds.getRepository(Experiment).findOneByOrFail({ id });
  }

  results(ctx: RequestContext, e: Experiment): Promise<ArmResult[]> {
    return armResults(ctx.ds.manager, e);
  }

  /** One pass over the ACTIVE experiments. */
  async tick(ctx: RequestContext): Promise<void> {
    const rows = await ctx.ds.query<{ id: number }[]>(
      `SELECT id FROM experiments WHERE status = 'ACTIVE' ORDER BY id`,
    );
    for (const { id } of rows) await this.advanceOrPause(ctx, id);
  }

  private async advanceOrPause(ctx: RequestContext, id: number): Promise<Experiment> {
    try {
      return await new ExperimentEngine(ctx, this.deps).advance(id);
    } catch (err) {
      ctx.log.error({ err, experimentId: id }, 'experiment step failed; pausing it');
      const message = err instanceof Error ? err.message : String(err);
      // Only an ACTIVE one: a cancel may have committed since the failed pass let go of the row.
      await ctx.ds
        .getRepository(Experiment)
        .update(
          { id, status: ExperimentStatus.ACTIVE },
          { status: ExperimentStatus.PAUSED, pauseReason: `A step failed: ${message}` },
        );
      await this.deps.announcer.experimentUpdated(id);
      return ctx.ds.getRepository(Experiment).findOneByOrFail({ id });
    }
  }
}

/** A run or curriculum that ended between the cancel's commit and its own cancel is left as is. */
async function endedMeanwhile(cancelling: Promise<unknown>): Promise<void> {
  try {
    await cancelling;
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
  }
}
