import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { StagewiseCli } from './helpers/cli';
import { gqlOk, type Ref } from './helpers/seed';
import { collect, wsClient } from './helpers/live';
import { fromGlobalId } from '../src/common/ids';
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

interface LiveExperiment {
  id: string;
  name: string;
  status: string;
  arms: { arm: string; seedsDone: number; meanAccuracy: number | null }[];
}

describe('an experiment compares arms at equal compute through GraphQL', () => {
  let t: TestServer;
  let train: Awaited<ReturnType<typeof loadTask>>;
  let evalSet: Ref;
  let base: { id: string; name: string };

  /** Polls the experiment until it ends; the error names what it last looked like. */
  async function experimentEnded(id: string, ms: number): Promise<any> {
    let last: any;
    return waitFor(
      'experiment to end',
      async () => {
        last = (await gqlOk(t, `query($id: ID!) { experiment(id: $id) { ${EXPERIMENT} } }`, { id }))
          .experiment;
        return ['SUCCEEDED', 'PAUSED', 'CANCELLED'].includes(last.status) && last;
      },
      ms,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
  }

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

  it('runs 2 arms x 2 seeds to the end with intervals, per-level accuracy, p-values and compute within one step of the budget; created and watched with the CLI, streamed over experimentUpdated', async (ctx) => {
    // Every experiment's updates, over a real WebSocket, from before it exists.
    const ws = wsClient(t.url, t.keys.read);
    const live = collect<LiveExperiment>(
      ws,
      'experimentUpdated',
      `subscription { experimentUpdated { id name status arms { arm seedsDone meanAccuracy } } }`,
      {},
    );
    const cli = new StagewiseCli(t, 600_000);
    const id = (
      await cli.ok([
        'experiments',
        'create',
        '--name',
        'two-arms',
        '--train',
        'exp-train',
        '--eval',
        evalSet.id,
        '--base',
        base.id,
        '--arms',
        'sft_all,RL_ONLY',
        '--seeds',
        '2',
        '--budget',
        String(BUDGET),
        '--stage-configs',
        JSON.stringify(STAGE_CONFIGS),
      ])
    ).trim();
    // Followed live to its end: a line per change, the table, exit 0 on SUCCEEDED.
    const watched = await cli.run(['experiments', 'watch', id]);
    ctx.diagnostic(watched.stdout);
    assert.equal(watched.code, 0, watched.stderr + watched.stdout);
    assert.match(
      watched.stdout,
      /^Watching experiment two-arms .*: ACTIVE; SFT_ALL, RL_ONLY x 2 seeds/,
    );
    assert.match(watched.stdout, /\] SUCCEEDED\n/);
    for (const arm of ['SFT_ALL', 'RL_ONLY']) {
      const progress = watched.stdout.match(new RegExp(`${arm}: (\\d)/2 seeds done`, 'g')) ?? [];
      assert.ok(progress.length >= 2, `${arm} progressed line by line: ${watched.stdout}`);
    }
    assert.match(watched.stdout, /Experiment two-arms SUCCEEDED \(watched/);
    assert.match(watched.stdout, /\nSFT_ALL\s+2\/2\s+\d+\.\d%/);

    const e = await experimentEnded(id, 60_000);
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

    // The subscriber saw it progress (seeds finishing while ACTIVE) and end, in order, the last
    // update with the results.
    await live.until((items) => items.some((i) => i.id === id && i.status === 'SUCCEEDED'));
    live.stop();
    await ws.dispose();
    const mine = live.items.filter((i) => i.id === id);
    const statuses = mine.map((i) => i.status).filter((s, k, all) => s !== all[k - 1]);
    assert.deepEqual(statuses, ['ACTIVE', 'SUCCEEDED'], JSON.stringify(mine));
    const done = (i: LiveExperiment) => i.arms.reduce((n, a) => n + a.seedsDone, 0);
    assert.ok(
      mine.some((i) => i.status === 'ACTIVE' && done(i) > 0 && done(i) < 4),
      `an update while seeds were finishing: ${JSON.stringify(mine)}`,
    );
    for (let k = 1; k < mine.length; k++) {
      assert.ok(done(mine[k]) >= done(mine[k - 1]), `in order: ${JSON.stringify(mine)}`);
    }
    assert.deepEqual(
      mine.at(-1)!.arms,
      e.arms.map((a: any) => ({ arm: a.arm, seedsDone: 2, meanAccuracy: a.meanAccuracy })),
    );

    // The CLI lists it and prints one line per arm, the best marked, the other with its p-value.
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

  it('runs the method and its three ablations as one curriculum per seed each, every arm within 5% of the budget', async (ctx) => {
    const policy = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "exp-method", k: 2, minAttempts: 2, bridgeStrategy: SELECT, replayFraction: 0.25 }) { id } }`,
    );
    const budget = 30_000;
    const created = await gqlOk(
      t,
      `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id status } }`,
      {
        input: {
          name: 'method-arms',
          trainDatasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          policyId: policy.createRoutingPolicy.id,
          rounds: 1,
          arms: ['STAGEWISE', 'NO_BRIDGE', 'NO_CRITIQUE', 'NO_ROUTING_RL'],
          seeds: 1,
          computeBudget: budget,
          stageConfigs: {
            ...STAGE_CONFIGS,
            PROBE: { max_new_tokens: 32, batch_size: 64, num_threads: 1 },
            SFT: { ...STAGE_CONFIGS.SFT, batch_size: 8, epochs: 1 },
            RL: { ...STAGE_CONFIGS.RL, prompts_per_step: 4, group_size: 2 },
          },
        },
      },
    );
    const id = created.createExperiment.id;
    const e = await experimentEnded(id, 900_000);
    for (const arm of e.arms) ctx.diagnostic(JSON.stringify(arm));
    assert.equal(e.status, 'SUCCEEDED', JSON.stringify(e));
    for (const arm of e.arms) {
      assert.equal(arm.seedsDone, 1, JSON.stringify(arm));
      assert.equal(arm.computePlanned, budget, 'a method arm plans the whole budget');
      // Probes, SFT and RL as the runner measured them, sized as the curriculum went.
      assert.ok(
        Math.abs(arm.computeUsed / budget - 1) <= 0.05,
        `${arm.arm} used ${arm.computeUsed} of ${budget}`,
      );
    }

    // Each seed is a curriculum the platform tracks, with what it leaves out.
    const curricula = await t.server.ds.query<
      { arm: string; ablations: string[]; budget: number; stages: string[] }[]
    >(
      `SELECT ec.arm, c.ablations, c.compute_budget AS budget,
              array_agg(r.stage::text ORDER BY r.id) AS stages
       FROM experiment_curricula ec JOIN curricula c ON c.id = ec.curriculum_id
       JOIN runs r ON r.curriculum_id = c.id
       WHERE ec.experiment_id = $1 GROUP BY ec.arm, c.ablations, c.compute_budget ORDER BY ec.arm`,
      [Number(fromGlobalId(id).id)],
    );
    ctx.diagnostic(JSON.stringify(curricula));
    const of = (arm: string) => curricula.find((c) => c.arm === arm)!;
    assert.deepEqual(
      curricula.map((c) => [c.arm, c.ablations, c.budget]),
      [
        ['NO_BRIDGE', ['NO_BRIDGE'], budget],
        ['NO_CRITIQUE', ['NO_CRITIQUE'], budget],
        ['NO_ROUTING_RL', ['NO_ROUTING_RL'], budget],
        ['STAGEWISE', [], budget],
      ],
    );
    for (const c of curricula) {
      // Probe, SFT, re-probe; then RL when something is partly solved (the tiny base solves
      // little), else SFT again with RL's share when some of the budget is left.
      assert.deepEqual(c.stages.slice(0, 3), ['PROBE', 'SFT', 'PROBE'], JSON.stringify(c));
      assert.ok(c.stages.length === 3 || ['RL', 'SFT'].includes(c.stages[3]), JSON.stringify(c));
    }
    assert.ok(
      of('NO_ROUTING_RL').stages.includes('RL'),
      'RL on everything runs whatever the probe',
    );
    assert.ok(!of('NO_CRITIQUE').stages.includes('CRITIQUE'), 'no critique step');
    // NO_ROUTING_RL trains RL on every TRAIN problem, the method on the partly solved ones only.
    const rlItems = await t.server.ds.query<{ arm: string; items: number }[]>(
      `SELECT ec.arm, m.item_count AS items FROM experiment_curricula ec
       JOIN runs r ON r.curriculum_id = ec.curriculum_id AND r.stage = 'RL'
       JOIN manifests m ON m.id = r.manifest_id WHERE ec.experiment_id = $1`,
      [Number(fromGlobalId(id).id)],
    );
    const items = Object.fromEntries(rlItems.map((r) => [r.arm, r.items]));
    assert.equal(items.NO_ROUTING_RL, 32, JSON.stringify(items));
    assert.ok((items.STAGEWISE ?? 0) < 32, JSON.stringify(items));

    // What each arm's SFT learns from: NO_BRIDGE the raw traces as the teacher wrote them, the
    // method the bridged ones (SELECT copies the trace the student scores best, not the raw one).
    const sftTraces = await t.server.ds.query<{ arm: string; kind: string; producer: string }[]>(
      `SELECT DISTINCT ec.arm, t.kind::text AS kind, t.producer
       FROM experiment_curricula ec
       JOIN runs r ON r.curriculum_id = ec.curriculum_id AND r.stage = 'SFT'
       JOIN curriculum_rounds cr ON cr.curriculum_id = ec.curriculum_id
       JOIN manifest_items mi ON mi.manifest_id = r.manifest_id
       JOIN stage_assignments a ON a.curriculum_id = ec.curriculum_id AND a.round = cr.round
         AND a.sample_id = mi.sample_id AND a.stage = 'SFT'
       JOIN traces t ON t.id = mi.trace_id
       WHERE ec.experiment_id = $1 AND ec.arm IN ('NO_BRIDGE', 'STAGEWISE') ORDER BY 1, 2`,
      [Number(fromGlobalId(id).id)],
    );
    assert.deepEqual(
      sftTraces.map((r) => [
        r.arm,
        r.kind,
        r.producer.startsWith('select:') ? 'select' : r.producer,
      ]),
      [
        ['NO_BRIDGE', 'TEACHER', 'builtin-teacher-raw'],
        ['STAGEWISE', 'BRIDGED', 'select'],
      ],
    );
  });

  it('refuses a method arm without a routing policy, saying why', async () => {
    const res = await t.gql(
      `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id } }`,
      {
        input: {
          name: 'no-policy',
          trainDatasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          arms: ['STAGEWISE'],
          computeBudget: BUDGET,
        },
      },
    );
    assert.match(
      JSON.stringify(res.errors),
      /policyId: the arms STAGEWISE run the method's curriculum/,
    );
    assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  });
});
