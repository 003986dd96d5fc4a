/**
 * Cancelling an experiment: cancelExperiment and `stagewise experiments cancel`, and what a watch
 * says around it. Nothing trains: a stored RUNNING run takes the only local slot, so the runs the
 * engine starts stay QUEUED, and the test ends them as a runner would. The ticker is off and the
 * test makes the engine's passes itself, so "nothing starts afterwards" is counted over passes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createSystemContext, type RequestContext } from '../src/common/request-context';
import { CursorCodec } from '../src/common/pagination';
import { StagewiseCli } from './helpers/cli';
import { setRunStatus } from './helpers/live';
import { runEnv, sleep } from './helpers/runs';
import {
  createCheckpoint,
  createDataset,
  createPolicy,
  gqlOk,
  importSamples,
  insertExperiment,
  insertRun,
  pkOf,
  toGlobalId,
  type Ref,
} from './helpers/seed';

const EXPERIMENT = `id name status pauseReason arms { arm seedsDone accuracies meanAccuracy }`;
const CANCEL = `mutation($id: ID!) { cancelExperiment(id: $id) { ${EXPERIMENT} } }`;

describe('cancelling an experiment', () => {
  let t: TestServer;
  let cli: StagewiseCli;
  let ctx: RequestContext;
  let train: Ref;
  let evalSet: Ref;
  let base: Ref;

  /** One pass of the ticker: the curricula, then the experiments. */
  const tick = async () => {
    await t.server.services.curricula.tick(ctx);
    await t.server.services.experiments.tick(ctx);
  };
  const experiment = async (id: string) =>
    (await gqlOk(t, `query($id: ID!) { experiment(id: $id) { ${EXPERIMENT} } }`, { id }))
      .experiment;
  /** The run of one step of one seed of an arm. */
  const stepRun = async (experimentId: string, arm: string, seed: number, step: number) => {
    const [row] = await t.server.ds.query<{ id: string }[]>(
      `SELECT run_id::text AS id FROM experiment_runs
       WHERE experiment_id = $1 AND arm = $2 AND seed = $3 AND step = $4`,
      [pkOf(experimentId), arm, seed, step],
    );
    assert.ok(row, `${arm} seed ${seed} step ${step} has a run`);
    return { id: toGlobalId('Run', row.id), pk: row.id };
  };
  /** The experiment's curricula by seed: status and current run. */
  const curricula = (experimentId: string) =>
    t.server.ds.query<{ seed: number; status: string; run: string; runStatus: string }[]>(
      `SELECT ec.seed, c.status::text, c.current_run_id::text AS run, r.status::text AS "runStatus"
       FROM experiment_curricula ec JOIN curricula c ON c.id = ec.curriculum_id
       LEFT JOIN runs r ON r.id = c.current_run_id
       WHERE ec.experiment_id = $1 ORDER BY ec.seed`,
      [pkOf(experimentId)],
    );
  const runCount = async () =>
    (await t.server.ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM runs`))[0].n;

  before(async () => {
    t = await startTestServer(
      runEnv({ CURRICULUM_TICK_MS: '0', HEARTBEAT_TIMEOUT_SECONDS: '3600' }),
    );
    cli = new StagewiseCli(t);
    ctx = createSystemContext(
      {
        ds: t.server.ds,
        cursors: new CursorCodec('test'),
        announcements: t.server.services.announcements,
      },
      { id: 'test-ticker', log: pino({ level: 'silent' }) },
    );
    // The only local slot: every run the engine starts stays QUEUED.
    await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    train = await createDataset(t, 'xc-train');
    await importSamples(
      t,
      train.id,
      ['a', 'b', 'c', 'd'].map((x) => ({ externalId: x, problem: `What is ${x}?` })),
    );
    evalSet = await createDataset(t, 'xc-eval', 'EVAL');
    await importSamples(t, evalSet.id, [{ externalId: 'e', problem: 'What is e?' }]);
    base = await createCheckpoint(t, { name: 'xc-base' });
  });
  after(() => t?.close());

  it('cancels an ACTIVE experiment, its live runs and its curricula; nothing starts for it afterwards, the finished seed keeps its result, and its watch exits 2', async () => {
    const policy = await createPolicy(t, { name: 'xc-policy', k: 2 });
    const { createExperiment: created } = await gqlOk(
      t,
      `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id status } }`,
      {
        input: {
          name: 'xc-live',
          trainDatasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          policyId: policy.id,
          rounds: 1,
          arms: ['RL_ONLY', 'STAGEWISE'],
          seeds: 3,
          computeBudget: 100_000,
        },
      },
    );
    const id: string = created.id;
    await tick(); // each STAGEWISE seed's curriculum starts its PROBE

    // Seed 0 of RL_ONLY ends as a runner leaves it: RL, then EVAL with its accuracy.
    await setRunStatus(t, await stepRun(id, 'RL_ONLY', 0, 0), 'SUCCEEDED');
    await tick();
    const eval0 = await stepRun(id, 'RL_ONLY', 0, 1);
    await t.server.ds.query(`UPDATE runs SET metrics = '{"eval/accuracy": 0.5}' WHERE id = $1`, [
      eval0.pk,
    ]);
    await setRunStatus(t, eval0, 'SUCCEEDED');
    await tick();
    // Seed 1's RL and curriculum 0's PROBE end too, and no pass has seen them yet: an ACTIVE
    // experiment would start seed 1's EVAL on its next pass, an ACTIVE curriculum its next step.
    await setRunStatus(t, await stepRun(id, 'RL_ONLY', 1, 0), 'SUCCEEDED');
    const [first] = await curricula(id);
    await setRunStatus(t, { id: toGlobalId('Run', first.run), pk: first.run }, 'SUCCEEDED');
    const seed2 = await stepRun(id, 'RL_ONLY', 2, 0);
    const before = await experiment(id);
    assert.equal(before.status, 'ACTIVE', JSON.stringify(before));
    assert.deepEqual(
      before.arms.find((a: { arm: string }) => a.arm === 'RL_ONLY'),
      { arm: 'RL_ONLY', seedsDone: 1, accuracies: [0.5], meanAccuracy: 0.5 },
    );
    assert.deepEqual(
      (await curricula(id)).map((c) => [c.seed, c.status, c.runStatus]),
      [
        [0, 'ACTIVE', 'SUCCEEDED'],
        [1, 'ACTIVE', 'QUEUED'],
        [2, 'ACTIVE', 'QUEUED'],
      ],
    );

    // A READ key may not cancel it.
    const refused = await t.gql(CANCEL, { id }, t.keys.read);
    assert.equal(refused.errors?.[0]?.extensions.code, 'FORBIDDEN', JSON.stringify(refused));
    assert.equal((await experiment(id)).status, 'ACTIVE');

    const watch = cli.start(['experiments', 'watch', id]);
    await watch.waitForStdout(/Watching experiment xc-live/, 20_000);
    assert.match(watch.stdout, /Watching experiment xc-live .*: ACTIVE/);
    // Let the subscription open, then cancel through the CLI.
    await sleep(1000);
    const cancelled = await cli.ok(['experiments', 'cancel', id]);
    assert.match(cancelled, /^Experiment xc-live: CANCELLED; its live runs and curricula/);
    assert.equal(await watch.exit(20_000), 2, watch.stderr + watch.stdout);
    assert.match(watch.stdout, /\] CANCELLED\n/);
    assert.match(watch.stdout, /Experiment xc-live CANCELLED \(watched/);
    assert.match(watch.stdout, /\nRL_ONLY\s+1\/3\s+50\.0%/);

    const after = await experiment(id);
    assert.equal(after.status, 'CANCELLED');
    assert.deepEqual(after.arms, before.arms, 'the finished seed keeps its result');
    const runs = await t.server.ds.query<{ seed: number; step: number; status: string }[]>(
      `SELECT er.seed, er.step, r.status::text FROM experiment_runs er JOIN runs r ON r.id = er.run_id
       WHERE er.experiment_id = $1 AND er.arm = 'RL_ONLY' ORDER BY er.seed, er.step`,
      [pkOf(id)],
    );
    assert.deepEqual(
      runs.map((r) => [r.seed, r.step, r.status]),
      [
        [0, 0, 'SUCCEEDED'],
        [0, 1, 'SUCCEEDED'],
        [1, 0, 'SUCCEEDED'],
        [2, 0, 'CANCELLED'],
      ],
    );
    assert.equal((await stepRun(id, 'RL_ONLY', 2, 0)).pk, seed2.pk);
    assert.deepEqual(
      (await curricula(id)).map((c) => [c.seed, c.status, c.runStatus]),
      [
        [0, 'CANCELLED', 'SUCCEEDED'],
        [1, 'CANCELLED', 'CANCELLED'],
        [2, 'CANCELLED', 'CANCELLED'],
      ],
    );

    // The engine passes on: it starts nothing for the cancelled experiment or its curricula.
    const runsBefore = await runCount();
    for (let pass = 0; pass < 3; pass++) await tick();
    assert.equal(await runCount(), runsBefore);
    assert.equal((await experiment(id)).status, 'CANCELLED');
    assert.ok((await curricula(id)).every((c) => c.status === 'CANCELLED'));
  });

  it('refuses to cancel an ended experiment (CONFLICT) or an unknown one (NOT_FOUND); a PAUSED one is cancelled', async () => {
    const seeded = (name: string, status: 'ACTIVE' | 'PAUSED' | 'SUCCEEDED', reason?: string) =>
      insertExperiment(t, {
        name,
        baseCheckpoint: base,
        train: [train],
        eval: [evalSet],
        arms: ['RL_ONLY'],
        status,
        pauseReason: reason,
      });
    const done = await seeded('xc-done', 'SUCCEEDED');
    const res = await t.gql(CANCEL, { id: done.id });
    assert.equal(res.errors?.[0]?.extensions.code, 'CONFLICT', JSON.stringify(res));
    assert.match(res.errors[0].message, /Experiment xc-done is already SUCCEEDED/);
    assert.equal((await experiment(done.id)).status, 'SUCCEEDED');
    const unknown = toGlobalId('Experiment', 99999);
    const missing = await t.gql(CANCEL, { id: unknown });
    assert.equal(missing.errors?.[0]?.extensions.code, 'NOT_FOUND', JSON.stringify(missing));

    const paused = await seeded('xc-paused', 'PAUSED', 'RL_ONLY seed 0: RL run failed');
    const p = await gqlOk(t, CANCEL, { id: paused.id });
    assert.equal(p.cancelExperiment.status, 'CANCELLED');
    assert.equal(p.cancelExperiment.pauseReason, null, 'no longer paused for that reason');

    // The CLI: 1 when the API refuses (its code printed), 3 for a wrong command line.
    await cli.expectExits([
      { args: ['experiments', 'cancel', done.id], code: 1, stderr: /SUCCEEDED.*\[CONFLICT\]/ },
      { args: ['experiments', 'cancel', paused.id], code: 1, stderr: /CANCELLED.*\[CONFLICT\]/ },
      { args: ['experiments', 'cancel', unknown], code: 1, stderr: /\[NOT_FOUND\]/ },
      { args: ['experiments', 'cancel'], code: 3, stderr: /Usage:/, stdout: '' },
      { args: ['experiments', 'cancel', 'a', 'b'], code: 3, stderr: /Usage:/, stdout: '' },
    ]);
    const help = await cli.run(['experiments', '--help']);
    assert.match(help.stdout, /stagewise experiments cancel ID/);
  });

  it('Ctrl-C in experiments watch stops the watch, not the experiment, and says how to cancel it', async () => {
    const e = await insertExperiment(t, {
      name: 'xc-watched',
      baseCheckpoint: base,
      train: [train],
      eval: [evalSet],
      arms: ['RL_ONLY'],
    });
    const watch = cli.start(['experiments', 'watch', e.id]);
    await watch.waitForStdout(/Watching experiment xc-watched/, 20_000);
    watch.interrupt();
    assert.equal(await watch.exit(20_000), 130, watch.stderr + watch.stdout);
    assert.match(
      watch.stderr,
      new RegExp(
        `Stopped watching; experiment ${e.id} goes on \\(stagewise experiments cancel ${e.id} stops it\\)`,
      ),
    );
    assert.equal((await experiment(e.id)).status, 'ACTIVE');
  });
});
