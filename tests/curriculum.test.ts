import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { gqlOk, type Ref } from './helpers/seed';
import {
  loadEvalTask,
  loadTask,
  runEnv,
  runnerPid,
  getRun,
  sftInput,
  startRun,
  waitFor,
  waitForStatus,
} from './helpers/runs';
import { collect, wsClient } from './helpers/live';

const CURRICULUM = `id name status phase pauseReason currentRound rounds
  currentRun { id stage status }
  roundResults { round stats startCheckpoint { name } sftCheckpoint { name } endCheckpoint { name } }`;

/** Small stage configs: each run takes seconds with one torch thread. */
const STAGE_CONFIGS = {
  PROBE: { max_new_tokens: 32, batch_size: 64, num_threads: 1 },
  SFT: { steps: 25, batch_size: 16, lr: 0.0005, warmup_steps: 5, num_threads: 1 },
  RL: { steps: 3, prompts_per_step: 8, group_size: 4, max_new_tokens: 32, num_threads: 1 },
  CRITIQUE: {},
  EVAL: { max_new_tokens: 32, num_threads: 1 },
};

async function getCurriculum(t: TestServer, id: string) {
  return (
    await gqlOk(t, `query($id: ID!) { node(id: $id) { ... on Curriculum { ${CURRICULUM} } } }`, {
      id,
    })
  ).node;
}

function waitForCurriculum(t: TestServer, id: string, statuses: string[], ms = 600_000) {
  let last: any;
  return waitFor(
    `curriculum to be ${statuses.join(' or ')}`,
    async () => {
      last = await getCurriculum(t, id);
      return statuses.includes(last.status) && last;
    },
    ms,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
  });
}

describe('a curriculum runs end to end on the built-in task', () => {
  let t: TestServer;
  let train: Awaited<ReturnType<typeof loadTask>>;
  let evalSet: Ref;
  let base: { id: string; name: string };

  before(async () => {
    t = await startTestServer(
      runEnv({ CURRICULUM_TICK_MS: '300', LOCAL_MAX_CONCURRENT_RUNS: '1' }),
    );
    train = await loadTask(t, 'cur-train', 48);
    evalSet = await loadEvalTask(t, 'cur-eval', 40);
    // The base student: a short SFT from scratch (weak on purpose: every stage gets samples).
    const sft = await startRun(t, sftInput({ steps: 60, checkpoint_name: 'cur-base' }, 48));
    const done = await waitForStatus(t, sft.id, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 180_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    base = done.outputCheckpoint!;
  });
  after(() => t?.close());

  it('probes, routes, bridges, trains, harvests critiques for 2 rounds, then evaluates', async (ctx) => {
    const policy = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "cur", k: 4, minAttempts: 4, bridgeStrategy: SELECT, replayFraction: 0.5 }) { id } }`,
    );
    const created = await gqlOk(
      t,
      `mutation($input: CreateCurriculumInput!) { createCurriculum(input: $input) { ${CURRICULUM} } }`,
      {
        input: {
          name: 'e2e',
          datasetIds: [train.id],
          evalDatasetIds: [evalSet.id],
          baseCheckpointId: base.id,
          policyId: policy.createRoutingPolicy.id,
          rounds: 2,
          stageConfigs: STAGE_CONFIGS,
        },
      },
    );
    const id = created.createCurriculum.id;
    const ws = wsClient(t.url, t.keys.read);
    const stream = collect<{ phase: string; status: string; currentRound: number }>(
      ws,
      'curriculumUpdated',
      `subscription($id: ID) { curriculumUpdated(curriculumId: $id) { phase status currentRound } }`,
      { id },
    );
    const c = await waitForCurriculum(t, id, ['SUCCEEDED', 'PAUSED', 'CANCELLED']);
    stream.stop();
    await ws.dispose();
    assert.equal(c.status, 'SUCCEEDED', JSON.stringify(c));
    assert.equal(c.phase, 'DONE');
    assert.equal(c.roundResults.length, 2);

    const [r1, r2] = c.roundResults;
    for (const r of c.roundResults) ctx.diagnostic(`round ${r.round}: ${JSON.stringify(r.stats)}`);
    assert.equal(r1.startCheckpoint.name, base.name);
    assert.equal(
      r2.startCheckpoint.name,
      r1.endCheckpoint.name,
      'round 2 starts where round 1 ended',
    );
    for (const r of c.roundResults) {
      const perStage = r.stats.samplesPerStage as Record<string, number>;
      const routed = Object.values(perStage).reduce((a, n) => a + n, 0);
      assert.equal(routed + r.stats.unrouted, 48, JSON.stringify(r.stats));
      assert.equal(typeof r.stats.evalAccuracy, 'number', JSON.stringify(r.stats));
      assert.equal(typeof r.stats.baseEvalAccuracy, 'number');
      assert.ok(r.stats.bridge.strategy === 'SELECT');
    }
    assert.equal(typeof r2.stats.moved, 'number');

    // The phases came live over the socket, in the loop's order.
    const phases = stream.items.map((i) => i.phase);
    const order = ['PROBE', 'SFT', 'REPROBE', 'EVAL', 'DONE'];
    const seen = order.filter((p) => phases.includes(p));
    assert.deepEqual(seen, order, `phases streamed: ${phases.join(',')}`);

    // Every run of the curriculum succeeded and belongs to a round; EVAL covered the base, each
    // round's end checkpoint and, where RL ran after SFT, the SFT checkpoint RL started from.
    const runs = await t.server.ds.query<
      { stage: string; round: number; status: string; input: string | null }[]
    >(
      `SELECT r.stage::text, r.round, r.status::text, c.name AS input
       FROM runs r LEFT JOIN checkpoints c ON c.id = r.input_checkpoint_id
       WHERE r.curriculum_id = $1 ORDER BY r.id`,
      [Number(Buffer.from(id, 'base64url').toString().split(':')[1])],
    );
    assert.ok(
      runs.every((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(runs),
    );
    const rlRan = (r: (typeof c.roundResults)[number]) =>
      r.sftCheckpoint && r.sftCheckpoint.name !== r.endCheckpoint.name;
    assert.ok(c.roundResults.some(rlRan), 'no round ran RL after SFT: nothing to compare');
    const evalsExpected = [{ round: 0, input: base.name }];
    for (const r of c.roundResults) {
      evalsExpected.push({ round: r.round, input: r.endCheckpoint.name });
      if (rlRan(r)) evalsExpected.push({ round: r.round, input: r.sftCheckpoint.name });
    }
    assert.deepEqual(
      runs.filter((r) => r.stage === 'EVAL').map(({ round, input }) => ({ round, input })),
      evalsExpected,
    );
    // Each accuracy went where its checkpoint belongs: the SFT checkpoint's beside the end's.
    for (const r of c.roundResults) {
      assert.equal(
        typeof r.stats.sftEvalAccuracy,
        rlRan(r) ? 'number' : 'undefined',
        `round ${r.round}: ${JSON.stringify(r.stats)}`,
      );
    }
    // Select wrote one BRIDGED trace per bridged sample, scored by the student.
    const [bridged] = await t.server.ds.query<{ n: number; scored: number }[]>(
      `SELECT count(*)::int AS n, count(student_nll)::int AS scored FROM traces WHERE kind = 'BRIDGED'`,
    );
    assert.equal(bridged.n, r1.stats.bridge.written + r2.stats.bridge.written);
    assert.equal(bridged.scored, bridged.n);
    // ... and each is a copy of its sample's verified teacher trace the student found most
    // likely (checked for round 2: the teacher traces now hold round 2's student's scores).
    const [{ wrong }] = await t.server.ds.query<{ wrong: number }[]>(
      `SELECT count(*)::int AS wrong FROM traces b JOIN traces p ON p.id = b.parent_trace_id
       WHERE b.kind = 'BRIDGED' AND b.external_id LIKE '%:r2' AND (b.text <> p.text OR b.student_nll <> p.student_nll OR EXISTS (
         SELECT 1 FROM traces o WHERE o.sample_id = b.sample_id AND o.kind = 'TEACHER' AND o.correct
           AND o.student_nll < p.student_nll))`,
    );
    assert.equal(wrong, 0);
  });

  it('pauses when a run fails and resumes after the run is retried', async () => {
    const policy = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "pause", k: 2, minAttempts: 2, bridgeStrategy: REWRITE }) { id } }`,
    );
    const created = await gqlOk(
      t,
      `mutation($input: CreateCurriculumInput!) { createCurriculum(input: $input) { id } }`,
      {
        input: {
          name: 'pausing',
          datasetIds: [train.id],
          baseCheckpointId: base.id,
          policyId: policy.createRoutingPolicy.id,
          rounds: 1,
          stageConfigs: STAGE_CONFIGS,
        },
      },
    );
    const id = created.createCurriculum.id;
    // Killed as soon as it is launched: the runner is still importing torch then.
    const probe = await waitFor(
      'the first probe to be launched',
      async () => {
        const c = await getCurriculum(t, id);
        const run = c.currentRun && (await getRun(t, c.currentRun.id));
        return run && run.externalId && ['STARTING', 'RUNNING'].includes(run.status) && run;
      },
      60_000,
      50,
    );
    process.kill(runnerPid(probe).pid, 'SIGKILL');
    const paused = await waitForCurriculum(t, id, ['PAUSED', 'SUCCEEDED'], 120_000);
    assert.equal(paused.status, 'PAUSED');
    assert.match(paused.pauseReason, /PROBE run .* failed.*retry it to resume/);

    const retry = await gqlOk(t, `mutation($id: ID!) { retryRun(id: $id) { id } }`, {
      id: probe.id,
    });
    const resumed = await getCurriculum(t, id);
    assert.equal(resumed.status, 'ACTIVE');
    assert.equal(resumed.currentRun.id, retry.retryRun.id);
    const done = await waitForCurriculum(t, id, ['SUCCEEDED', 'PAUSED']);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    // The rewrite strategy ran as a BRIDGE run through the built-in rewrite teacher.
    const rounds = (await getCurriculum(t, id)).roundResults;
    assert.equal(rounds[0].stats.bridge.strategy, 'REWRITE');
    assert.ok(rounds[0].stats.bridge.rewritten > 0, JSON.stringify(rounds[0].stats));
    assert.equal(rounds[0].stats.bridge.rejected, 0);
  });

  it('bridges by hint: the prefix goes into the prompt, annealed over rounds', async () => {
    const policy = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "hint", k: 2, minAttempts: 2, bridgeStrategy: HINT, bridgeOptions: { hintFractionStart: 1, hintFractionEnd: 0 } }) { id } }`,
    );
    const created = await gqlOk(
      t,
      `mutation($input: CreateCurriculumInput!) { createCurriculum(input: $input) { id } }`,
      {
        input: {
          name: 'hinting',
          datasetIds: [train.id],
          baseCheckpointId: base.id,
          policyId: policy.createRoutingPolicy.id,
          rounds: 2,
          stageConfigs: STAGE_CONFIGS,
        },
      },
    );
    const done = await waitForCurriculum(t, created.createCurriculum.id, ['SUCCEEDED', 'PAUSED']);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    const [r1, r2] = done.roundResults;
    assert.deepEqual([r1.stats.bridge.fraction, r2.stats.bridge.fraction], [1, 0]);
    const rows = await t.server.ds.query<
      { external_id: string; hint: string; text: string; parent: string }[]
    >(
      `SELECT b.external_id, b.metadata->>'hint' AS hint, b.text, p.text AS parent
       FROM traces b JOIN traces p ON p.id = b.parent_trace_id
       WHERE b.kind = 'BRIDGED' AND b.metadata->>'strategy' = 'hint'`,
    );
    assert.ok(rows.length > 0);
    for (const r of rows) {
      assert.ok(r.parent.startsWith(r.hint), 'the hint is a prefix of the teacher trace');
      assert.ok(r.parent.endsWith(r.text), 'the rest is what the student learns');
      if (r.external_id.endsWith(':r2')) assert.equal(r.hint, '', 'round 2 gives no hint');
    }
    assert.ok(rows.some((r) => r.external_id.endsWith(':r1') && r.hint.length > 0));
  });
});
