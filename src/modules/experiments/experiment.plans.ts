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

/** The arms the engine runs today, as run sequences ending in the held-out EVAL. */
export const ARM_PLANS: Partial<Record<ExperimentArm, PlanStep[]>> = {
  [ExperimentArm.SFT_ALL]: [{ stage: RunStage.SFT, share: 1, traces: 'BRIDGED_OR_TEACHER' }, EVAL],
  [ExperimentArm.DISTILL_RAW]: [{ stage: RunStage.SFT, share: 1, traces: 'TEACHER' }, EVAL],
  [ExperimentArm.RL_ONLY]: [{ stage: RunStage.RL, share: 1 }, EVAL],
  [ExperimentArm.SFT_THEN_RL]: [
    { stage: RunStage.SFT, share: 0.5, traces: 'BRIDGED_OR_TEACHER' },
    { stage: RunStage.RL, share: 0.5 },
    EVAL,
  ],
};

/** Mean lengths of the training data, in tokens (the built-in model's tokenizer is by character). */
export interface DataLengths {
  prompt: number;
  trace: number;
}

/**
 * Tokens one optimisation step costs: SFT runs forward+backward over batch_size sequences
 * (prompt + trace); an RL step generates prompts × group completions of up to max_new_tokens,
 * scores them forward-only (old policy, and reference with a KL term, each at 1/3) and runs
 * ppo_epochs forward+backward passes over them. Completions are taken at max_new_tokens: an
 * upper estimate, so an arm may use less than its budget, never more by much.
 */
export function tokensPerStep(
  stage: RunStage.SFT | RunStage.RL,
  config: Record<string, unknown>,
  lengths: DataLengths,
): number {
  const num = (key: string, fallback: number) =>
    typeof config[key] === 'number' ? config[key] : fallback;
  if (stage === RunStage.SFT) return num('batch_size', 32) * (lengths.prompt + lengths.trace);
  const rows = num('prompts_per_step', 16) * num('group_size', 8);
  const completion = num('max_new_tokens', 96);
  const sequence = lengths.prompt + completion;
  const forwardOnly = (num('kl_coef', 0) > 0 ? 2 : 1) / 3;
  return rows * (completion + sequence * (forwardOnly + num('ppo_epochs', 1)));
}

/** Steps that fit a share of the budget (at least one). */
export function stepsForBudget(budget: number, share: number, perStep: number): number {
  return Math.max(1, Math.floor((budget * share) / perStep));
}
