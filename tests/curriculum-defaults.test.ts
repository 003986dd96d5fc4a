import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CURRICULUM_STAGE_DEFAULTS,
  curriculumRunConfig,
} from '../src/modules/curricula/curriculum.defaults';
import { RunStage } from '../src/modules/runs/run.entity';

/**
 * A curriculum's SFT runs fine-tune a trained checkpoint at the lr the experiment chose on
 * validation, not the runner's from-scratch 1e-3, unless its stageConfigs say otherwise.
 */
describe('curriculum run configs: the shipped defaults under the curriculum and the step', () => {
  it('an SFT run with no lr in stageConfigs takes the curriculum default, not the runner one', () => {
    const config = curriculumRunConfig(RunStage.SFT, { SFT: { batch_size: 32 } }, { steps: 7 });
    assert.deepEqual(config, { lr: CURRICULUM_STAGE_DEFAULTS.SFT!.lr, batch_size: 32, steps: 7 });
    assert.ok((config.lr as number) < 1e-3);
  });

  it("stageConfigs' lr wins over the default, and the step's own settings over both", () => {
    assert.equal(curriculumRunConfig(RunStage.SFT, { SFT: { lr: 5e-4 } }, {}).lr, 5e-4);
    assert.equal(curriculumRunConfig(RunStage.SFT, { SFT: { steps: 9 } }, { steps: 3 }).steps, 3);
  });

  it('stages without defaults get only what the curriculum and the step set', () => {
    assert.deepEqual(curriculumRunConfig(RunStage.RL, {}, { steps: 2 }), { steps: 2 });
  });
});
