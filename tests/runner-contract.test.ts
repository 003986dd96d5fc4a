import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RunStage } from '../src/modules/runs/run.entity';
import { validateStageConfig } from '../src/modules/runs/stage-configs';
import { repoRoot } from './helpers/processes';

describe('the config contract between the API and gpu-runner', () => {
  it('commits exactly the config schema the runner prints', () => {
    const runnerDir = path.join(repoRoot(), 'gpu-runner');
    const printed = execFileSync('/usr/bin/python3', ['-m', 'gpu_runner.config', '--schema'], {
      cwd: runnerDir,
      encoding: 'utf8',
    });
    const committed = fs.readFileSync(path.join(runnerDir, 'config.schema.json'), 'utf8');
    assert.deepEqual(JSON.parse(committed), JSON.parse(printed));
  });

  it('accepts the defaults and names every wrong field of a stage config', () => {
    assert.deepEqual(validateStageConfig(RunStage.SFT, {}), {});
    assert.throws(
      () => validateStageConfig(RunStage.RL, { group_size: 1, lr: 'fast', nope: true }),
      (err: Error & { details?: { problems?: string[] } }) => {
        const problems = err.details?.problems ?? [];
        assert.ok(
          problems.some((p) => p.includes('config.group_size')),
          problems.join('; '),
        );
        assert.ok(
          problems.some((p) => p.includes('config.lr')),
          problems.join('; '),
        );
        assert.ok(
          problems.some((p) => p.includes('"nope"')),
          problems.join('; '),
        );
        return true;
      },
    );
  });

  it('validates the teacher stages: an OpenAI-compatible teacher needs its URL and model', () => {
    for (const stage of [RunStage.BRIDGE, RunStage.CRITIQUE]) {
      assert.deepEqual(validateStageConfig(stage, {}), {});
      assert.throws(
        () => validateStageConfig(stage, { teacher: 'somebody' }),
        /config\.teacher: must be one of "builtin", "openai"/,
      );
    }
  });
});
