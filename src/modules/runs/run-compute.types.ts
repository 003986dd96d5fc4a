import { RunStage } from './run.entity';

/**
 * Mean lengths of a run's data, in tokens (the built-in model's tokenizer is by character):
 * prompt and teacher trace, and where measured, the student's mean completion (a probe's).
 */
export interface DataLengths {
  prompt: number;
  trace: number;
  completion?: number;
}

/**
 * Tokens one optimisation step costs, counted as the runner counts `compute/tokens`: SFT runs
 * forward+backward over batch_size sequences (prompt + trace); an RL step generates prompts ×
 * group completions, scores them forward-only (old policy, and reference with a KL term, each
 * at 1/3) and runs ppo_epochs forward+backward passes over them. A completion is taken at its
 * measured mean length where known, else at the teacher trace's (capped by max_new_tokens):
 * taking every completion at max_new_tokens left RL arms well under their budget.
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
  const completion = Math.min(num('max_new_tokens', 96), lengths.completion ?? lengths.trace + 1);
  const sequence = lengths.prompt + completion;
  const forwardOnly = (num('kl_coef', 0) > 0 ? 2 : 1) / 3;
  return rows * (completion + sequence * (forwardOnly + num('ppo_epochs', 1)));
}

/**
 * Tokens a PROBE of `problems` problems with k samples each costs: every generated token at 1,
 * the prompts' forward-only pass at 1/3 (stages/probe.py reports the same as compute/tokens).
 */
export function probeTokens(problems: number, k: number, lengths: DataLengths): number {
  return problems * k * ((lengths.completion ?? lengths.trace + 1) + lengths.prompt / 3);
}

/** Whole steps that fit a number of tokens (none when not even one fits). */
export function stepsFor(tokens: number, perStep: number): number {
  return Math.max(0, Math.floor(tokens / perStep));
}
