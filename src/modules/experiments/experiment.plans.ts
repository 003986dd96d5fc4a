import { CurriculumAblation } from '../curricula/curriculum.entity';
import { RunStage } from '../runs/run.entity';
import { ExperimentArm } from './experiment.entity';

/** Which traces an SFT step trains on. */
export type SftTraces = 'BRIDGED_OR_TEACHER' | 'TEACHER';

/** One run of an arm's plan; `share` is its part of the arm's compute budget. */
export interface PlanStep {
  stage: RunStage.SFT | RunStage.RL | RunStage.EVAL;
  share: number;
  traces?: SftTraces;
}

const EVAL: PlanStep = { stage: RunStage.EVAL, share: 0 };

/**
 * The arms run as a curriculum per seed (the method, and the method less one part), with what
 * each curriculum leaves out; the whole budget is the curriculum's, then its final checkpoint
 * is evaluated (their plan below is that EVAL).
 */
export const CURRICULUM_ARMS: Partial<Record<ExperimentArm, CurriculumAblation[]>> = {
  [ExperimentArm.STAGEWISE]: [],
  [ExperimentArm.NO_BRIDGE]: [CurriculumAblation.NO_BRIDGE],
  [ExperimentArm.NO_CRITIQUE]: [CurriculumAblation.NO_CRITIQUE],
  [ExperimentArm.NO_ROUTING_RL]: [CurriculumAblation.NO_ROUTING_RL],
};

/** Every arm as the runs the experiment starts itself, ending in the held-out EVAL. */
export const ARM_PLANS: Record<ExperimentArm, PlanStep[]> = {
  [ExperimentArm.SFT_ALL]: [{ stage: RunStage.SFT, share: 1, traces: 'BRIDGED_OR_TEACHER' }, EVAL],
  [ExperimentArm.DISTILL_RAW]: [{ stage: RunStage.SFT, share: 1, traces: 'TEACHER' }, EVAL],
  [ExperimentArm.RL_ONLY]: [{ stage: RunStage.RL, share: 1 }, EVAL],
  [ExperimentArm.SFT_THEN_RL]: [
    { stage: RunStage.SFT, share: 0.5, traces: 'BRIDGED_OR_TEACHER' },
    { stage: RunStage.RL, share: 0.5 },
    EVAL,
  ],
  [ExperimentArm.STAGEWISE]: [EVAL],
  [ExperimentArm.NO_BRIDGE]: [EVAL],
  [ExperimentArm.NO_CRITIQUE]: [EVAL],
  [ExperimentArm.NO_ROUTING_RL]: [EVAL],
};

/** Steps that fit a share of the budget (at least one). */
export function stepsForBudget(budget: number, share: number, perStep: number): number {
  return Math.max(1, Math.floor((budget * share) / perStep));
}
