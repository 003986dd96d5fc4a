import type { EntityManager } from 'typeorm';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { toGlobalId } from '../../common/ids';
import { ManifestPurpose } from '../manifests/manifest.entity';
import { Run, RunStage, RunStatus } from '../runs/run.entity';
import { isTerminal } from '../runs/run.types';
import type { ManifestService } from '../manifests/manifest.service';
import type { RunService } from '../runs/run.service';
import { Experiment, ExperimentStatus } from './experiment.entity';
import { ExperimentRun } from './experiment-run.entity';
import {
  BRIDGED_OR_TEACHER_SQL,
  LENGTHS_SQL,
  PROMPTS_SQL,
  TEACHER_SQL,
} from './experiment.manifests';
import {
  ARM_PLANS,
  type DataLengths,
  type PlanStep,
  stepsForBudget,
  tokensPerStep,
} from './experiment.plans';

/** What the experiment engine works with, from the composition root (src/app/services.ts). */
export interface ExperimentCollaborators {
  runs: RunService;
  manifests: ManifestService;
}

/**
 * Moves an experiment on: every seed of every arm walks its plan (experiment.plans.ts), one run
 * at a time, each step from the checkpoint the previous one produced (the first from the base).
 * Training runs get the steps that fit their share of the compute budget and the seed as their
 * `seed`. A failed run pauses the experiment; when every seed's EVAL has succeeded it is done.
 */
export class ExperimentEngine {
  constructor(
    private readonly ctx: RequestContext,
    private readonly deps: ExperimentCollaborators,
  ) {}

  async advance(experimentId: number): Promise<Experiment> {
    const started = await withTransaction(this.ctx, async ({ manager: m }) => {
      const locked = await m.query<unknown[]>(
        'SELECT id FROM experiments WHERE id = $1 FOR UPDATE SKIP LOCKED',
        [experimentId],
      );
      if (locked.length === 0) return null;
      const e = await m.getRepository(Experiment).findOneByOrFail({ id: experimentId });
      if (e.status !== ExperimentStatus.ACTIVE) return null;
      const runs: Run[] = [];
      let finished = 0;
      let lengths: DataLengths | undefined;
      for (const arm of e.armNames) {
        const plan = ARM_PLANS[arm]!;
        for (let seed = 0; seed < e.seeds; seed++) {
          const last = await m.getRepository(ExperimentRun).findOne({
            where: { experimentId: e.id, arm, seed },
            order: { step: 'DESC' },
          });
          const run = last ? await m.getRepository(Run).findOneByOrFail({ id: last.runId }) : null;
          if (run && !isTerminal(run.status)) continue;
          if (run && run.status !== RunStatus.SUCCEEDED) {
            e.status = ExperimentStatus.PAUSED;
            e.pauseReason = `${arm} seed ${seed}: ${run.stage} run ${toGlobalId('Run', run.id)} ${run.status.toLowerCase()}${run.error ? `: ${run.error}` : ''}`;
            await m.save(e);
            return { e, runs };
          }
          const next = last ? last.step + 1 : 0;
          if (next >= plan.length) {
            finished++;
            continue;
          }
          lengths ??= await dataLengths(m, e.trainDatasetIds);
          const from = run?.outputCheckpointId ?? e.baseCheckpointId;
          runs.push(await this.startStep(m, e, arm, seed, next, plan[next], from, lengths));
        }
      }
      if (finished === e.armNames.length * e.seeds) {
        e.status = ExperimentStatus.SUCCEEDED;
        await m.save(e);
      }
      return { e, runs };
    });
    if (started) {
      for (const run of started.runs) await this.deps.runs.announceCreated(run);
    }
    return this.ctx.ds.getRepository(Experiment).findOneByOrFail({ id: experimentId });
  }

  private async startStep(
    m: EntityManager,
    e: Experiment,
    arm: string,
    seed: number,
    step: number,
    spec: PlanStep,
    checkpointId: number,
    lengths: DataLengths,
  ): Promise<Run> {
    const base = { ...(e.stageConfigs[spec.stage] ?? {}), seed };
    const config =
      spec.stage === RunStage.EVAL
        ? base
        : {
            ...base,
            steps: stepsForBudget(
              e.computeBudget,
              spec.share,
              tokensPerStep(spec.stage, base, lengths),
            ),
          };
    const sql =
      spec.stage === RunStage.SFT
        ? spec.traces === 'TEACHER'
          ? TEACHER_SQL
          : BRIDGED_OR_TEACHER_SQL
        : PROMPTS_SQL;
    const datasets = spec.stage === RunStage.EVAL ? e.evalDatasetIds : e.trainDatasetIds;
    const manifest = await this.deps.manifests.freezeFromSql(m, ManifestPurpose[spec.stage], sql, [
      datasets,
    ]);
    const run = await this.deps.runs.createIn(m, {
      stage: spec.stage,
      config,
      inputCheckpointId: checkpointId,
      manifestId: manifest.id,
      launcher: e.launcher,
    });
    await m
      .getRepository(ExperimentRun)
      .save({ experimentId: e.id, arm, seed, step, runId: run.id });
    return run;
  }
}

async function dataLengths(m: EntityManager, datasetIds: number[]): Promise<DataLengths> {
  const [row] = await m.query<DataLengths[]>(LENGTHS_SQL, [datasetIds]);
  return row;
}
