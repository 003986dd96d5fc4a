import { RunStage } from '../runs/run.entity';

/**
 * What a curriculum's runs take where its stageConfigs say nothing. The runner's own SFT lr
 * (1e-3) suits training the tiny model from scratch; a curriculum fine-tunes a trained
 * checkpoint, where the experiment's validation sweep (README, "npm run experiment") found a
 * far smaller step best for every arm with SFT.
 */
export const CURRICULUM_STAGE_DEFAULTS: Partial<Record<RunStage, Record<string, unknown>>> = {
  [RunStage.SFT]: { lr: 1e-5 },
};

/**
 * A curriculum run's config: the curriculum's defaults for the stage, under the curriculum's
 * stageConfigs for it, under what the step itself sets (steps under a budget, PROBE's k).
 */
export function curriculumRunConfig(
  stage: RunStage,
  stageConfigs: Record<string, Record<string, unknown>>,
  step: Record<string, unknown>,
): Record<string, unknown> {
  return { ...(CURRICULUM_STAGE_DEFAULTS[stage] ?? {}), ...(stageConfigs[stage] ?? {}), ...step };
}
