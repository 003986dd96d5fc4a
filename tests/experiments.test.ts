import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { StagewiseCli } from './helpers/cli';
import { gqlOk, type Ref } from './helpers/seed';
import {
  loadEvalTask,
  loadTask,
  runEnv,
  sftInput,
  startRun,
  waitFor,
  waitForStatus,
} from './helpers/runs';

const EXPERIMENT = `id name status pauseReason seeds computeBudget armNames
  arms { arm seedsDone accuracies meanAccuracy ciLow ciHigh levels { level accuracy } computeUsed computePlanned pValueVsBest }`;

/** Small stage configs: each run takes seconds with one torch thread. */
const STAGE_CONFIGS = {
  SFT: { batch_size: 16, lr: 0.0005, warmup_steps: 2, num_threads: 1 },
  RL: { prompts_per_step: 8, group_size: 4, max_new_tokens: 32, num_threads: 1 },
  EVAL: { max_new_tokens: 32, num_threads: 1 },
};
const BUDGET = 20_000;

describe('an experiment compares arms at equal compute through GraphQL', () => {
  let t: TestServer;
  let train: Awaited<ReturnType<typeof loadTask>>;
  let evalSet: Ref;
  let base: { id: string; name: string };

  before(async () => {
    t = await startTestServer(
      runEnv({ CURRICULUM_TICK_MS: '300', LOCAL_MAX_CONCURRENT_RUNS: '1' }),
    );
    train = await loadTask(t, 'exp-train', 32);
    evalSet = await loadEvalTask(t, 'exp-eval', 30);
    const sft = await startRun(t, sftInput({ steps: 40, checkpoint_name: 'exp-base' }, 32));
    const done = await waitForStatus(t, sft.id, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 180_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    base = done.outputCheckpoint!;
  });
  after(() => t?.close());

  it('runs 2 arms x 2 seeds to the end with intervals, per-level accuracy, p-values and compute within one step of the budget', async (ctx) => {
    const created = await gqlOk(
      t,
      `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id status } }`,
      {
        input: {
          name: 'two-arms',
          trainDatasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          arms: ['SFT_ALL', 'RL_ONLY'],
          seeds: 2,
          computeBudget: BUDGET,
          stageConfigs: STAGE_CONFIGS,
        },
      },
    );
    const id = created.createExperiment.id;
    let last: any;
    const e = await waitFor(
      'experiment to end',
      async () => {
        last = (await gqlOk(t, `query($id: ID!) { experiment(id: $id) { ${EXPERIMENT} } }`, { id }))
          .experiment;
        return ['SUCCEEDED', 'PAUSED', 'CANCELLED'].includes(last.status) && last;
      },
      600_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
    for (const arm of e.arms) ctx.diagnostic(JSON.stringify(arm));
    assert.equal(e.status, 'SUCCEEDED', JSON.stringify(e));
    assert.deepEqual(
      e.arms.map((a: any) => a.arm),
      ['SFT_ALL', 'RL_ONLY'],
    );
    for (const arm of e.arms) {
      assert.equal(arm.seedsDone, 2);
      assert.equal(arm.accuracies.length, 2);
      assert.ok(
        arm.ciLow <= arm.meanAccuracy && arm.meanAccuracy <= arm.ciHigh,
        JSON.stringify(arm),
      );
      assert.ok(arm.levels.length > 0, 'per-level accuracy from the samples metadata');
      // The rule: steps = floor(budget / tokens per step), so an arm uses the budget less at
      // most one step's tokens, never more (the estimate of experiment.plans.ts).
      assert.ok(arm.computePlanned <= BUDGET, `${arm.arm} planned ${arm.computePlanned}`);
      assert.ok(arm.computePlanned > BUDGET * 0.75, `${arm.arm} planned ${arm.computePlanned}`);
      // What the runner measured (compute/tokens): RL's plan counts every completion at
      // max_new_tokens, so it uses less; SFT's plan is the data's mean length, so near it.
      assert.notEqual(arm.computeUsed, arm.computePlanned, 'the measured figure, not the plan');
      assert.ok(
        arm.computeUsed > 0 && arm.computeUsed <= BUDGET * 1.1,
        `${arm.arm} used ${arm.computeUsed}`,
      );
    }
    const withP = e.arms.filter((a: any) => a.pValueVsBest !== null);
    assert.equal(withP.length, 1, 'every arm but the best has a p-value against it');
    assert.ok(withP[0].pValueVsBest > 0 && withP[0].pValueVsBest <= 1);

    // Every seed of every arm is runs the platform tracks: SFT + EVAL and RL + EVAL, all succeeded.
    const runs = await t.server.ds.query<{ arm: string; stage: string; status: string }[]>(
      `SELECT er.arm, r.stage::text, r.status::text FROM experiment_runs er
       JOIN runs r ON r.id = er.run_id ORDER BY er.arm, er.seed, er.step`,
    );
    assert.equal(runs.length, 8, JSON.stringify(runs));
    assert.ok(runs.every((r) => r.status === 'SUCCEEDED'));

    // The CLI lists it and prints one line per arm, the best marked, the other with its p-value.
    const cli = new StagewiseCli(t);
    assert.match(await cli.ok(['experiments', 'list']), /two-arms\s+SUCCEEDED\s+SFT_ALL,RL_ONLY/);
    const shown = await cli.ok(['experiments', 'status', id]);
    ctx.diagnostic(shown);
    const armLines = shown.split('\n').filter((l) => /^(SFT_ALL|RL_ONLY)\s/.test(l));
    assert.equal(armLines.length, 2, shown);
    assert.ok(
      armLines.every((l) => /2\/2\s+\d+\.\d%/.test(l)),
      shown,
    );
    assert.equal(armLines.filter((l) => /\sbest$/.test(l)).length, 1, shown);
  });

  it('refuses an arm the engine does not run yet, saying which it runs', async () => {
    const res = await t.gql(
      `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id } }`,
      {
        input: {
          name: 'unsupported',
          trainDatasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          arms: ['STAGEWISE'],
          computeBudget: BUDGET,
        },
      },
    );
    assert.match(JSON.stringify(res.errors), /STAGEWISE not run by the engine yet/);
  });
});
