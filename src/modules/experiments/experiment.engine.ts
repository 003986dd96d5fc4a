import type { EntityManager } from 'typeorm';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { toGlobalId } from '../../common/ids';
import { ManifestPurpose } from '../manifests/manifest.entity';
import { Run, RunStage, RunStatus } from '../runs/run.entity';
import { isTerminal } from '../runs/run.types';
import type { ManifestService } from '../manifests/manifest.service';
import type { RunService } from '../runs/run.service';
import { Experiment, type ExperimentArm, ExperimentStatus } from './experiment.entity';
import { ExperimentRun } from './experiment-run.entity';
import { BRIDGED_OR_TEACHER_SQL, PROMPTS_SQL, TEACHER_SQL } from './experiment.manifests';
import { ARM_PLANS, CURRICULUM_ARMS, type PlanStep, stepsForBudget } from './experiment.plans';
import { ExperimentCurriculum } from './experiment-curriculum.entity';
import { Curriculum, CurriculumStatus } from '../curricula/curriculum.entity';
import { CurriculumRound } from '../curricula/curriculum-round.entity';
import { tokensPerStep } from '../runs/run-compute.types';
import type { CurriculumService } from '../curricula/curriculum.service';
import type { Announcer } from '../../common/pubsub/announcer';

/** What the experiment engine works with, from the composition root (src/app/services.ts). */
export interface ExperimentCollaborators {
  runs: RunService;
  manifests: ManifestService;
  curricula: CurriculumService;
  announcer: Announcer;
}

/**
 * Moves an experiment on: every seed of every arm walks its plan (experiment.plans.ts), one run
 * at a time, each step from the checkpoint the previous one produced (the first from the base).
 * Training runs get the steps that fit their share of the compute budget and the seed as their
 * `seed`. A method arm's seed first runs a curriculum at the whole budget (its own rows, moved
 * on by the curriculum ticker); its plan's EVAL starts from the curriculum's final checkpoint.
 * A failed run or a paused curriculum pauses the experiment; when every seed's EVAL has
 * succeeded it is done.
 *
 * Each pass that changes the experiment (a status, runs started) or finds that one of its runs
 * or curricula moved since the experiment was last stored touches its row and, after the commit,
 * announces it (`experimentUpdated`): the row's `updatedAt` is when its progress last moved.
 */
export class ExperimentEngine {
  constructor(
    private readonly ctx: RequestContext,
    private readonly deps: ExperimentCollaborators,
  ) {}

  async advance(experimentId: number): Promise<Experiment> {
    await withTransaction(this.ctx, async (tx) => {
      const pass = await this.advanceLocked(tx.manager, experimentId);
      // The runs it started and the experiment, announced once the transaction has committed;
      // a pass that found nothing moved leaves the row as it was: nothing to announce.
      if (pass) {
        const { e, runs, moved } = pass;
        tx.afterCommit(async () => {
          for (const run of runs) await this.deps.runs.announceCreated(run);
          if (e.status !== ExperimentStatus.ACTIVE || moved || runs.length) {
            await this.deps.announcer.experimentUpdated(experimentId);
          }
        });
      }
    });
    return this.ctx.ds.getRepository(Experiment).findOneByOrFail({ id: experimentId });
  }

  /**
   * One pass under the experiment's row lock: the runs it started, and whether its runs or
   * curricula moved since it was last stored; null when another process holds it or it is not
   * ACTIVE.
   */
  private async advanceLocked(
    m: EntityManager,
    experimentId: number,
  ): Promise<{ e: Experiment; runs: Run[]; moved: boolean } | null> {
    const locked = await m.query<unknown[]>(
      'SELECT id FROM experiments WHERE id = $1 FOR UPDATE SKIP LOCKED',
      [experimentId],
    );
    if (locked.length === 0) return null;
    const e = await m.getRepository(Experiment).findOneByOrFail({ id: experimentId });
    if (e.status !== ExperimentStatus.ACTIVE) return null;
    const moved = await partsMoved(m, e.id);
    const runs: Run[] = [];
    let finished = 0;
    for (const arm of e.armNames) {
      const plan = ARM_PLANS[arm];
      for (let seed = 0; seed < e.seeds; seed++) {
        let start = e.baseCheckpointId;
        if (CURRICULUM_ARMS[arm]) {
          const c = await this.curriculumOf(m, e, arm, seed);
          if (c.status === CurriculumStatus.ACTIVE) continue;
          if (c.status !== CurriculumStatus.SUCCEEDED) {
            e.status = ExperimentStatus.PAUSED;
            e.pauseReason = `${arm} seed ${seed}: curriculum ${c.name} ${c.status.toLowerCase()}${c.pauseReason ? `: ${c.pauseReason}` : ''}`;
            await m.save(e);
            return { e, runs, moved };
          }
          start = await finalCheckpoint(m, c);
        }
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
          return { e, runs, moved };
        }
        const next = last ? last.step + 1 : 0;
        if (next >= plan.length) {
          finished++;
          continue;
        }
        const from = run?.outputCheckpointId ?? start;
        runs.push(await this.startStep(m, e, arm, seed, next, plan[next], from));
      }
    }
    if (finished === e.armNames.length * e.seeds) {
      e.status = ExperimentStatus.SUCCEEDED;
      await m.save(e);
    } else if (moved || runs.length > 0) {
      await m.query('UPDATE experiments SET updated_at = now() WHERE id = $1', [e.id]);
    }
    return { e, runs, moved };
  }

  private async startStep(
    m: EntityManager,
    e: Experiment,
    arm: string,
    seed: number,
    step: number,
    spec: PlanStep,
    checkpointId: number,
  ): Promise<Run> {
    const sql =
      spec.stage === RunStage.SFT
        ? spec.traces === 'TEACHER'
          ? TEACHER_SQL
          : BRIDGED_OR_TEACHER_SQL
        : PROMPTS_SQL;
    const datasets = spec.stage === RunStage.EVAL ? e.evalDatasetIds : e.trainDatasetIds;
    let config: Record<string, unknown> = { ...(e.stageConfigs[spec.stage] ?? {}), seed };
    let plannedTokens: number | null = null;
    if (spec.stage !== RunStage.EVAL) {
      // Steps are the budget's: an epochs cap would cut them short of it.
      const { epochs: _epochs, ...rest } = config;
      const perStep = tokensPerStep(
        spec.stage,
        rest,
        await this.deps.manifests.selectionLengths(m, sql, [datasets]),
      );
      const steps = stepsForBudget(e.computeBudget, spec.share, perStep);
      config = { ...rest, steps };
      plannedTokens = steps * perStep;
    }
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
      .save({ experimentId: e.id, arm, seed, step, runId: run.id, plannedTokens });
    return run;
  }

  /** The curriculum a method arm's seed runs, made (at the whole budget) the first time. */
  private async curriculumOf(
    m: EntityManager,
    e: Experiment,
    arm: ExperimentArm,
    seed: number,
  ): Promise<Curriculum> {
    const link = await m
      .getRepository(ExperimentCurriculum)
      .findOneBy({ experimentId: e.id, arm, seed });
    if (link) return m.getRepository(Curriculum).findOneByOrFail({ id: link.curriculumId });
    // The student's stages take the seed; the teacher's (BRIDGE, CRITIQUE) have none.
    const seeded = { ...e.stageConfigs };
    for (const stage of [RunStage.PROBE, RunStage.SFT, RunStage.RL]) {
      seeded[stage] = { ...(e.stageConfigs[stage] ?? {}), seed };
    }
    const c = await this.deps.curricula.createIn(m, {
      name: `experiment-${e.id}-${arm.toLowerCase()}-seed-${seed}`,
      baseCheckpointId: e.baseCheckpointId,
      policyId: e.policyId!,
      rounds: e.rounds,
      launcher: e.launcher,
      stageConfigs: seeded,
      autoAdvance: true,
      computeBudget: e.computeBudget,
      ablations: CURRICULUM_ARMS[arm]!,
      trainDatasetIds: e.trainDatasetIds,
      evalDatasetIds: [],
    });
    await m
      .getRepository(ExperimentCurriculum)
      .save({ experimentId: e.id, arm, seed, curriculumId: c.id });
    return c;
  }
}

/** The checkpoint a finished curriculum ended on: its last round's (the base if none trained). */
async function finalCheckpoint(m: EntityManager, c: Curriculum): Promise<number> {
  const last = await m.getRepository(CurriculumRound).findOne({
    where: { curriculumId: c.id },
    order: { round: 'DESC' },
  });
  return last?.endCheckpointId ?? c.baseCheckpointId;
}

/**
 * Whether a run or curriculum of the experiment changed (progress, status, a round) after the
 * experiment's row was last written: a pass that finds so touches the row and announces it.
 */
async function partsMoved(m: EntityManager, experimentId: number): Promise<boolean> {
  const [row] = await m.query<{ moved: boolean | null }[]>(
    `SELECT (SELECT max(r.updated_at) FROM experiment_runs er JOIN runs r ON r.id = er.run_id
             WHERE er.experiment_id = e.id) > e.updated_at
         OR (SELECT max(c.updated_at) FROM experiment_curricula ec
             JOIN curricula c ON c.id = ec.curriculum_id WHERE ec.experiment_id = e.id) > e.updated_at
         AS moved
     FROM experiments e WHERE e.id = $1`,
    [experimentId],
  );
  return row?.moved === true;
}
