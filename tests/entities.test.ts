import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createDataset,
  createPolicy,
  gqlErrorCode,
  gqlOk,
  importSamples,
  importTraces,
  insertAssignment,
  insertCritique,
  insertCurriculum,
  insertManifest,
  insertManifestItem,
  insertPassRate,
  insertRun,
  insertRunEvents,
  sampleRefs,
  toGlobalId,
  traceRefs,
  type Ref,
} from './helpers/seed';

const CREATE_POLICY = `mutation($input: CreateRoutingPolicyInput!) {
  createRoutingPolicy(input: $input) { id name version k temperature tauLow tauHigh minAttempts replayFraction bridgeStrategy bridgeOptions seed }
}`;

const nodeIds = (data: { nodes: { id: string }[] }) => data.nodes.map((n) => n.id);

describe('entities', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  describe('checkpoints', () => {
    let root: Ref;
    let child: Ref;
    let grandchild: Ref;
    let sibling: Ref;
    let other: Ref;

    before(async () => {
      root = await createCheckpoint(t, { name: 'ck-root', baseModel: 'qwen-0.5b' });
      child = await createCheckpoint(t, {
        name: 'ck-child',
        baseModel: 'qwen-0.5b',
        parentId: root.id,
      });
      grandchild = await createCheckpoint(t, {
        name: 'ck-grand',
        baseModel: 'qwen-0.5b',
        parentId: child.id,
      });
      sibling = await createCheckpoint(t, {
        name: 'ck-sibling',
        baseModel: 'qwen-0.5b',
        parentId: root.id,
      });
      other = await createCheckpoint(t, { name: 'ck-other', baseModel: 'llama-1b' });
    });

    it('creates a checkpoint with every field and returns it', async () => {
      const data = await gqlOk(
        t,
        `mutation { createCheckpoint(input: { name: "ck-full", baseModel: "smol", uri: "s3://b/ck", onnxUri: "s3://b/ck.onnx", metadata: { steps: 100 } }) {
          id name baseModel uri onnxUri metadata parent { id } producedByRun { id } createdAt } }`,
      );
      const c = data.createCheckpoint;
      assert.deepEqual(
        { ...c, createdAt: undefined, id: undefined },
        {
          id: undefined,
          createdAt: undefined,
          name: 'ck-full',
          baseModel: 'smol',
          uri: 's3://b/ck',
          onnxUri: 's3://b/ck.onnx',
          metadata: { steps: 100 },
          parent: null,
          producedByRun: null,
        },
      );
      assert.ok(!Number.isNaN(Date.parse(c.createdAt)));
      const again = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Checkpoint { name uri } } }`,
        { id: c.id },
      );
      assert.deepEqual(again.node, { name: 'ck-full', uri: 's3://b/ck' });
    });

    it('follows the parent lineage up to the root', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Checkpoint { name parent { name parent { name parent { name } } } } } }`,
        {
          id: grandchild.id,
        },
      );
      assert.deepEqual(data.node, {
        name: 'ck-grand',
        parent: { name: 'ck-child', parent: { name: 'ck-root', parent: null } },
      });
    });

    it('filters checkpoints by parentId: the children of a checkpoint', async () => {
      const data = await gqlOk(
        t,
        `query($p: ID!) { checkpoints(filter: { parentId: $p }) { nodes { id } } }`,
        { p: root.id },
      );
      assert.deepEqual(nodeIds(data.checkpoints), [child.id, sibling.id]);
    });

    it('filters checkpoints by baseModel', async () => {
      const data = await gqlOk(
        t,
        `{ checkpoints(filter: { baseModel: "llama-1b" }) { nodes { id } } }`,
      );
      assert.deepEqual(nodeIds(data.checkpoints), [other.id]);
    });

    it('filters checkpoints by producedByRunId and resolves producedByRun', async () => {
      const run = await insertRun(t, {
        stage: 'BRIDGE',
        status: 'SUCCEEDED',
        inputCheckpoint: root,
        outputCheckpoint: child,
      });
      await t.server.ds.query('UPDATE checkpoints SET produced_by_run_id = $1 WHERE id = $2', [
        run.pk,
        child.pk,
      ]);
      const data = await gqlOk(
        t,
        `query($r: ID!) { checkpoints(filter: { producedByRunId: $r }) { nodes { id producedByRun { id stage outputCheckpoint { name } } } } }`,
        {
          r: run.id,
        },
      );
      assert.deepEqual(data.checkpoints.nodes, [
        {
          id: child.id,
          producedByRun: { id: run.id, stage: 'BRIDGE', outputCheckpoint: { name: 'ck-child' } },
        },
      ]);
    });

    it('refuses a second checkpoint with the same name as CONFLICT', async () => {
      const err = await gqlErrorCode(
        t,
        `mutation { createCheckpoint(input: { name: "ck-root", baseModel: "x", uri: "y" }) { id } }`,
      );
      assert.equal(err.code, 'CONFLICT');
    });

    it('refuses a parent that does not exist as NOT_FOUND', async () => {
      const err = await gqlErrorCode(
        t,
        `mutation($p: ID) { createCheckpoint(input: { name: "ck-orphan", baseModel: "x", uri: "y", parentId: $p }) { id } }`,
        {
          p: toGlobalId('Checkpoint', 999999),
        },
      );
      assert.equal(err.code, 'NOT_FOUND');
    });

    it('refuses a parentId of another type as BAD_USER_INPUT', async () => {
      const ds = await createDataset(t, 'ck-not-a-checkpoint');
      const err = await gqlErrorCode(
        t,
        `mutation($p: ID) { createCheckpoint(input: { name: "ck-wrong", baseModel: "x", uri: "y", parentId: $p }) { id } }`,
        {
          p: ds.id,
        },
      );
      assert.equal(err.code, 'BAD_USER_INPUT');
    });
  });

  describe('routing policies', () => {
    it('makes versions 1 and 2 of one name and keeps both', async () => {
      const v1 = await gqlOk(t, CREATE_POLICY, {
        input: { name: 'rp-main', tauLow: 0.1, tauHigh: 0.8 },
      });
      const v2 = await gqlOk(t, CREATE_POLICY, {
        input: {
          name: 'rp-main',
          tauLow: 0.2,
          tauHigh: 0.9,
          k: 16,
          bridgeStrategy: 'HINT',
          bridgeOptions: { hints: 2 },
        },
      });
      assert.equal(v1.createRoutingPolicy.version, 1);
      assert.equal(v2.createRoutingPolicy.version, 2);
      assert.notEqual(v1.createRoutingPolicy.id, v2.createRoutingPolicy.id);
      const listed = await gqlOk(
        t,
        `{ routingPolicies(name: "rp-main") { totalCount nodes { id version tauLow tauHigh k bridgeStrategy bridgeOptions } } }`,
      );
      assert.equal(listed.routingPolicies.totalCount, 2);
      assert.deepEqual(listed.routingPolicies.nodes, [
        {
          id: v1.createRoutingPolicy.id,
          version: 1,
          tauLow: 0.1,
          tauHigh: 0.8,
          k: 8,
          bridgeStrategy: 'SELECT',
          bridgeOptions: {},
        },
        {
          id: v2.createRoutingPolicy.id,
          version: 2,
          tauLow: 0.2,
          tauHigh: 0.9,
          k: 16,
          bridgeStrategy: 'HINT',
          bridgeOptions: { hints: 2 },
        },
      ]);
    });

    it('fills the documented defaults', async () => {
      const data = await gqlOk(t, CREATE_POLICY, { input: { name: 'rp-defaults' } });
      const { id: _id, ...rest } = data.createRoutingPolicy;
      assert.deepEqual(rest, {
        name: 'rp-defaults',
        version: 1,
        k: 8,
        temperature: 1,
        tauLow: 0,
        tauHigh: 1,
        minAttempts: 8,
        replayFraction: 0.05,
        bridgeStrategy: 'SELECT',
        bridgeOptions: {},
        seed: 0,
      });
    });

    it('numbers versions per name', async () => {
      await gqlOk(t, CREATE_POLICY, { input: { name: 'rp-x' } });
      await gqlOk(t, CREATE_POLICY, { input: { name: 'rp-x' } });
      const y = await gqlOk(t, CREATE_POLICY, { input: { name: 'rp-y' } });
      assert.equal(y.createRoutingPolicy.version, 1);
      const all = await gqlOk(t, `{ routingPolicies(name: "rp-x") { nodes { version } } }`);
      assert.deepEqual(all.routingPolicies.nodes, [{ version: 1 }, { version: 2 }]);
    });

    it('refuses tauLow equal to or above tauHigh as BAD_USER_INPUT and creates nothing', async () => {
      for (const [tauLow, tauHigh] of [
        [0.5, 0.5],
        [0.9, 0.1],
      ]) {
        const err = await gqlErrorCode(t, CREATE_POLICY, {
          input: { name: 'rp-bad', tauLow, tauHigh },
        });
        assert.equal(err.code, 'BAD_USER_INPUT');
        assert.match(err.message, /tauLow/);
      }
      const listed = await gqlOk(t, `{ routingPolicies(name: "rp-bad") { totalCount } }`);
      assert.equal(listed.routingPolicies.totalCount, 0);
    });

    it('refuses a tau outside [0, 1] as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, CREATE_POLICY, {
        input: { name: 'rp-range', tauHigh: 1.5 },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('gives concurrent creates of one name distinct versions', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => gqlOk(t, CREATE_POLICY, { input: { name: 'rp-race' } })),
      );
      assert.deepEqual(results.map((r) => r.createRoutingPolicy.version).sort(), [1, 2, 3, 4, 5]);
    });
  });

  describe('curricula, runs, critiques and assignments', () => {
    let train: Ref;
    let train2: Ref;
    let evalDs: Ref;
    let base: Ref;
    let policy: Ref;
    let active: Ref;
    let paused: Ref;
    let samples: Map<string, Ref>;
    let runs: Record<string, Ref>;
    let traces: Map<string, Ref>;
    let critiques: Record<string, Ref>;
    let assignments: Record<string, Ref>;

    before(async () => {
      train = await createDataset(t, 'cur-train');
      train2 = await createDataset(t, 'cur-train-2');
      evalDs = await createDataset(t, 'cur-eval', 'EVAL');
      base = await createCheckpoint(t, { name: 'cur-base' });
      policy = await createPolicy(t, { name: 'cur-policy' });
      active = await insertCurriculum(t, {
        name: 'cur-active',
        baseCheckpoint: base,
        policy,
        rounds: 4,
        datasets: [train2, train],
        evalDatasets: [evalDs],
      });
      paused = await insertCurriculum(t, {
        name: 'cur-paused',
        baseCheckpoint: base,
        policy,
        status: 'PAUSED',
        datasets: [train],
      });

      runs = {
        probe1: await insertRun(t, {
          stage: 'PROBE',
          status: 'SUCCEEDED',
          curriculum: active,
          round: 1,
          inputCheckpoint: base,
        }),
        sft1: await insertRun(t, {
          stage: 'SFT',
          status: 'FAILED',
          curriculum: active,
          round: 1,
          inputCheckpoint: base,
        }),
        sft1b: await insertRun(t, {
          stage: 'SFT',
          status: 'RUNNING',
          curriculum: active,
          round: 1,
        }),
        probe2: await insertRun(t, {
          stage: 'PROBE',
          status: 'QUEUED',
          curriculum: active,
          round: 2,
        }),
        lone: await insertRun(t, { stage: 'EVAL', status: 'RUNNING' }),
        pausedRun: await insertRun(t, {
          stage: 'PROBE',
          status: 'CANCELLED',
          curriculum: paused,
          round: 1,
        }),
      };
      await t.server.ds.query('UPDATE runs SET retry_of_id = $1, attempt = 2 WHERE id = $2', [
        runs.sft1.pk,
        runs.sft1b.pk,
      ]);
      await insertRunEvents(t, runs.sft1, [
        { seq: 2, type: 'PROGRESS', payload: { step: 10 } },
        { seq: 4, type: 'STATUS', payload: { status: 'FAILED' } },
        { seq: 1, type: 'STATUS', payload: { status: 'RUNNING' } },
        { seq: 3, type: 'METRIC', payload: { loss: 0.5 } },
      ]);

      await importSamples(t, train.id, [
        { externalId: 'q1', problem: 'q1' },
        { externalId: 'q2', problem: 'q2' },
        { externalId: 'q3', problem: 'q3' },
      ]);
      samples = await sampleRefs(t, train);
      await importTraces(t, train.id, [
        {
          sampleExternalId: 'q1',
          externalId: 'f1',
          kind: 'ROLLOUT',
          text: 'bad 1',
          correct: false,
        },
        {
          sampleExternalId: 'q1',
          externalId: 'rep1',
          kind: 'REPAIR',
          text: 'fixed 1',
          correct: true,
        },
        {
          sampleExternalId: 'q1',
          externalId: 'sol1',
          kind: 'SOLUTION',
          text: 'solution 1',
          correct: true,
        },
        {
          sampleExternalId: 'q2',
          externalId: 'f2',
          kind: 'ROLLOUT',
          text: 'bad 2',
          correct: false,
        },
      ]);
      traces = new Map([
        ...(await traceRefs(t, samples.get('q1')!)),
        ...(await traceRefs(t, samples.get('q2')!)),
      ]);
      critiques = {
        c1: await insertCritique(t, {
          sample: samples.get('q1')!,
          failedTrace: traces.get('f1')!,
          verdict: 'WRONG_STEP',
          verified: true,
          run: runs.probe1,
          repairTrace: traces.get('rep1')!,
          solutionTrace: traces.get('sol1')!,
        }),
        c2: await insertCritique(t, {
          sample: samples.get('q2')!,
          failedTrace: traces.get('f2')!,
          verdict: 'NO_ANSWER',
          run: runs.probe1,
        }),
        c3: await insertCritique(t, {
          sample: samples.get('q2')!,
          failedTrace: traces.get('f2')!,
          verdict: 'WRONG_STEP',
          run: runs.probe2,
        }),
      };
      const assign = (c: Ref, round: number, ext: string, stage: 'SFT' | 'RL' | 'REPLAY') =>
        insertAssignment(t, {
          curriculum: c,
          round,
          sample: samples.get(ext)!,
          stage,
          policy,
          checkpoint: base,
          passRate: 0.25,
        });
      assignments = {
        a1: await assign(active, 1, 'q1', 'SFT'),
        a2: await assign(active, 1, 'q2', 'RL'),
        a3: await assign(active, 2, 'q1', 'RL'),
        a4: await assign(paused, 1, 'q3', 'SFT'),
        a5: await assign(active, 1, 'q3', 'REPLAY'),
      };
    });

    const runIds = async (filter: Record<string, unknown>) =>
      nodeIds(
        (
          await gqlOk(t, `query($f: RunFilter) { runs(filter: $f) { nodes { id } } }`, {
            f: filter,
          })
        ).runs,
      );

    it('filters runs by a list of statuses', async () => {
      assert.deepEqual(await runIds({ status: ['RUNNING'] }), [runs.sft1b.id, runs.lone.id]);
      assert.deepEqual(await runIds({ status: ['FAILED', 'CANCELLED', 'QUEUED'] }), [
        runs.sft1.id,
        runs.probe2.id,
        runs.pausedRun.id,
      ]);
      assert.deepEqual(await runIds({ status: ['STARTING'] }), []);
    });

    it('filters runs by stage', async () => {
      assert.deepEqual(await runIds({ stage: 'SFT' }), [runs.sft1.id, runs.sft1b.id]);
      assert.deepEqual(await runIds({ stage: 'EVAL' }), [runs.lone.id]);
    });

    it('filters runs by curriculumId and round', async () => {
      assert.deepEqual(await runIds({ curriculumId: active.id }), [
        runs.probe1.id,
        runs.sft1.id,
        runs.sft1b.id,
        runs.probe2.id,
      ]);
      assert.deepEqual(await runIds({ curriculumId: active.id, round: 2 }), [runs.probe2.id]);
      assert.deepEqual(await runIds({ curriculumId: paused.id, round: 1 }), [runs.pausedRun.id]);
      assert.deepEqual(
        await runIds({ curriculumId: active.id, round: 1, stage: 'SFT', status: ['RUNNING'] }),
        [runs.sft1b.id],
      );
    });

    it('refuses a run curriculumId of another type as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(
        t,
        `query($f: RunFilter) { runs(filter: $f) { nodes { id } } }`,
        { f: { curriculumId: runs.sft1.id } },
      );
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('resolves run.curriculum, run.retryOf and run.inputCheckpoint', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Run { attempt stage curriculum { name } retryOf { id attempt } inputCheckpoint { name } outputCheckpoint { name } manifest { id } } } }`,
        {
          id: runs.sft1b.id,
        },
      );
      assert.deepEqual(data.node, {
        attempt: 2,
        stage: 'SFT',
        curriculum: { name: 'cur-active' },
        retryOf: { id: runs.sft1.id, attempt: 1 },
        inputCheckpoint: null,
        outputCheckpoint: null,
        manifest: null,
      });
    });

    it('lists run events in seq order, after afterSeq, at most first', async () => {
      const q = `query($id: ID!, $after: Int!, $first: Int!) { node(id: $id) { ... on Run { events(afterSeq: $after, first: $first) { seq type payload } } } }`;
      const all = await gqlOk(t, q, { id: runs.sft1.id, after: 0, first: 100 });
      assert.deepEqual(all.node.events, [
        { seq: 1, type: 'STATUS', payload: { status: 'RUNNING' } },
        { seq: 2, type: 'PROGRESS', payload: { step: 10 } },
        { seq: 3, type: 'METRIC', payload: { loss: 0.5 } },
        { seq: 4, type: 'STATUS', payload: { status: 'FAILED' } },
      ]);
      const later = await gqlOk(t, q, { id: runs.sft1.id, after: 2, first: 100 });
      assert.deepEqual(
        later.node.events.map((e: { seq: number }) => e.seq),
        [3, 4],
      );
      const bounded = await gqlOk(t, q, { id: runs.sft1.id, after: 1, first: 2 });
      assert.deepEqual(
        bounded.node.events.map((e: { seq: number }) => e.seq),
        [2, 3],
      );
      const none = await gqlOk(t, q, { id: runs.sft1.id, after: 4, first: 100 });
      assert.deepEqual(none.node.events, []);
    });

    it('refuses a negative afterSeq as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(
        t,
        `query($id: ID!) { node(id: $id) { ... on Run { events(afterSeq: -1) { seq } } } }`,
        { id: runs.sft1.id },
      );
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    const critiqueIds = async (filter: Record<string, unknown>) =>
      nodeIds(
        (
          await gqlOk(t, `query($f: CritiqueFilter) { critiques(filter: $f) { nodes { id } } }`, {
            f: filter,
          })
        ).critiques,
      );

    it('filters critiques by sampleId, runId, verified and verdict', async () => {
      assert.deepEqual(await critiqueIds({ sampleId: samples.get('q2')!.id }), [
        critiques.c2.id,
        critiques.c3.id,
      ]);
      assert.deepEqual(await critiqueIds({ runId: runs.probe1.id }), [
        critiques.c1.id,
        critiques.c2.id,
      ]);
      assert.deepEqual(await critiqueIds({ verified: true }), [critiques.c1.id]);
      assert.deepEqual(await critiqueIds({ verified: false }), [critiques.c2.id, critiques.c3.id]);
      assert.deepEqual(await critiqueIds({ verdict: 'WRONG_STEP' }), [
        critiques.c1.id,
        critiques.c3.id,
      ]);
      assert.deepEqual(await critiqueIds({ verdict: 'WRONG_STEP', runId: runs.probe2.id }), [
        critiques.c3.id,
      ]);
      assert.deepEqual(await critiqueIds({ verdict: 'CORRECT' }), []);
    });

    it('resolves the traces, sample and run of a critique', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Critique {
          diagnosis teacher verdict verified sample { externalId } failedTrace { externalId }
          repairTrace { externalId kind } solutionTrace { externalId kind } run { id } } } }`,
        { id: critiques.c1.id },
      );
      assert.deepEqual(data.node, {
        diagnosis: 'step 2 drops a sign',
        teacher: 'teacher-7b',
        verdict: 'WRONG_STEP',
        verified: true,
        sample: { externalId: 'q1' },
        failedTrace: { externalId: 'f1' },
        repairTrace: { externalId: 'rep1', kind: 'REPAIR' },
        solutionTrace: { externalId: 'sol1', kind: 'SOLUTION' },
        run: { id: runs.probe1.id },
      });
      const bare = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Critique { repairTrace { id } solutionTrace { id } } } }`,
        { id: critiques.c2.id },
      );
      assert.deepEqual(bare.node, { repairTrace: null, solutionTrace: null });
    });

    const assignmentIds = async (filter: Record<string, unknown>) =>
      nodeIds(
        (
          await gqlOk(
            t,
            `query($f: StageAssignmentFilter) { stageAssignments(filter: $f) { nodes { id } } }`,
            { f: filter },
          )
        ).stageAssignments,
      );

    it('filters stage assignments by curriculumId, round, stage and sampleId', async () => {
      assert.deepEqual(await assignmentIds({ curriculumId: active.id }), [
        assignments.a1.id,
        assignments.a2.id,
        assignments.a3.id,
        assignments.a5.id,
      ]);
      assert.deepEqual(await assignmentIds({ curriculumId: active.id, round: 1 }), [
        assignments.a1.id,
        assignments.a2.id,
        assignments.a5.id,
      ]);
      assert.deepEqual(await assignmentIds({ stage: 'SFT' }), [
        assignments.a1.id,
        assignments.a4.id,
      ]);
      assert.deepEqual(await assignmentIds({ sampleId: samples.get('q1')!.id }), [
        assignments.a1.id,
        assignments.a3.id,
      ]);
      assert.deepEqual(
        await assignmentIds({
          curriculumId: active.id,
          round: 1,
          stage: 'RL',
          sampleId: samples.get('q2')!.id,
        }),
        [assignments.a2.id],
      );
      assert.deepEqual(await assignmentIds({ round: 3 }), []);
    });

    it('resolves the sample, policy, checkpoint and curriculum of an assignment', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on StageAssignment {
          round stage passRate attempts reason sample { externalId } policy { name version } checkpoint { name } curriculum { name } } } }`,
        {
          id: assignments.a3.id,
        },
      );
      assert.deepEqual(data.node, {
        round: 2,
        stage: 'RL',
        passRate: 0.25,
        attempts: 8,
        reason: 'routed to RL',
        sample: { externalId: 'q1' },
        policy: { name: 'cur-policy', version: 1 },
        checkpoint: { name: 'cur-base' },
        curriculum: { name: 'cur-active' },
      });
    });

    it('filters sample.assignments by curriculum and round', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!, $c: ID!) { node(id: $id) { ... on Sample {
          all: assignments { round } inActive: assignments(curriculumId: $c) { round } r2: assignments(round: 2) { stage } } } }`,
        {
          id: samples.get('q1')!.id,
          c: active.id,
        },
      );
      assert.deepEqual(data.node, {
        all: [{ round: 1 }, { round: 2 }],
        inActive: [{ round: 1 }, { round: 2 }],
        r2: [{ stage: 'RL' }],
      });
    });

    it('refuses a stage assignment round below 1 as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(
        t,
        `{ stageAssignments(filter: { round: 0 }) { nodes { id } } }`,
      );
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('shows a curriculum with its training and eval datasets, base checkpoint and policy', async () => {
      const data = await gqlOk(
        t,
        `{ curricula { nodes { id name rounds currentRound phase status pauseReason launcher
          datasets { name split } evalDatasets { name split } baseCheckpoint { name } policy { name version } } } }`,
      );
      assert.deepEqual(data.curricula.nodes, [
        {
          id: active.id,
          name: 'cur-active',
          rounds: 4,
          currentRound: 0,
          phase: 'PENDING',
          status: 'ACTIVE',
          pauseReason: null,
          launcher: 'local',
          datasets: [
            { name: 'cur-train', split: 'TRAIN' },
            { name: 'cur-train-2', split: 'TRAIN' },
          ],
          evalDatasets: [{ name: 'cur-eval', split: 'EVAL' }],
          baseCheckpoint: { name: 'cur-base' },
          policy: { name: 'cur-policy', version: 1 },
        },
        {
          id: paused.id,
          name: 'cur-paused',
          rounds: 3,
          currentRound: 0,
          phase: 'PENDING',
          status: 'PAUSED',
          pauseReason: null,
          launcher: 'local',
          datasets: [{ name: 'cur-train', split: 'TRAIN' }],
          evalDatasets: [],
          baseCheckpoint: { name: 'cur-base' },
          policy: { name: 'cur-policy', version: 1 },
        },
      ]);
    });

    it('filters curricula by status', async () => {
      const q = `query($s: CurriculumStatus) { curricula(status: $s) { nodes { id } } }`;
      assert.deepEqual(nodeIds((await gqlOk(t, q, { s: 'PAUSED' })).curricula), [paused.id]);
      assert.deepEqual(nodeIds((await gqlOk(t, q, { s: 'ACTIVE' })).curricula), [active.id]);
      assert.deepEqual(nodeIds((await gqlOk(t, q, { s: 'SUCCEEDED' })).curricula), []);
    });

    describe('node(id)', () => {
      let all: Record<string, { id: string; check: string; expect: unknown }>;

      before(async () => {
        const passRate = await insertPassRate(t, {
          sample: samples.get('q1')!,
          checkpoint: base,
          attempts: 4,
          successes: 1,
        });
        const manifest = await insertManifest(t, 'SFT');
        const item = await insertManifestItem(t, {
          manifest,
          ordinal: 1,
          sample: samples.get('q1')!,
          trace: traces.get('f1')!,
        });
        await t.server.ds.query('UPDATE manifests SET item_count = 1 WHERE id = $1', [manifest.pk]);
        const [event] = await t.server.ds.query<{ id: string }[]>(
          'SELECT id::text AS id FROM run_events WHERE run_id = $1 AND seq = 3',
          [runs.sft1.pk],
        );
        all = {
          Checkpoint: {
            id: base.id,
            check: '... on Checkpoint { name }',
            expect: { name: 'cur-base' },
          },
          Critique: {
            id: critiques.c2.id,
            check: '... on Critique { verdict }',
            expect: { verdict: 'NO_ANSWER' },
          },
          Curriculum: {
            id: active.id,
            check: '... on Curriculum { name }',
            expect: { name: 'cur-active' },
          },
          Dataset: {
            id: evalDs.id,
            check: '... on Dataset { name split }',
            expect: { name: 'cur-eval', split: 'EVAL' },
          },
          Manifest: {
            id: manifest.id,
            check: '... on Manifest { purpose itemCount items { ordinal } }',
            expect: { purpose: 'SFT', itemCount: 1, items: [{ ordinal: 1 }] },
          },
          ManifestItem: {
            id: item.id,
            check: '... on ManifestItem { ordinal sample { externalId } trace { externalId } }',
            expect: { ordinal: 1, sample: { externalId: 'q1' }, trace: { externalId: 'f1' } },
          },
          PassRate: {
            id: passRate.id,
            check:
              '... on PassRate { attempts successes rate sample { externalId } checkpoint { name } }',
            expect: {
              attempts: 4,
              successes: 1,
              rate: 0.25,
              sample: { externalId: 'q1' },
              checkpoint: { name: 'cur-base' },
            },
          },
          RoutingPolicy: {
            id: policy.id,
            check: '... on RoutingPolicy { name version }',
            expect: { name: 'cur-policy', version: 1 },
          },
          Run: {
            id: runs.lone.id,
            check: '... on Run { stage status }',
            expect: { stage: 'EVAL', status: 'RUNNING' },
          },
          RunEvent: {
            id: toGlobalId('RunEvent', event.id),
            check: '... on RunEvent { seq type run { id } }',
            expect: { seq: 3, type: 'METRIC', run: { id: runs.sft1.id } },
          },
          Sample: {
            id: samples.get('q3')!.id,
            check: '... on Sample { externalId }',
            expect: { externalId: 'q3' },
          },
          StageAssignment: {
            id: assignments.a4.id,
            check: '... on StageAssignment { stage round }',
            expect: { stage: 'SFT', round: 1 },
          },
          Trace: {
            id: traces.get('rep1')!.id,
            check: '... on Trace { externalId kind }',
            expect: { externalId: 'rep1', kind: 'REPAIR' },
          },
        };
      });

      it('finds an object of every node type by its id, as that type', async () => {
        for (const [type, { id, check, expect }] of Object.entries(all)) {
          const data = await gqlOk(
            t,
            `query($id: ID!) { node(id: $id) { __typename id ${check} } }`,
            { id },
          );
          assert.deepEqual(data.node, { __typename: type, id, ...(expect as object) }, type);
        }
      });

      it('answers NOT_FOUND for a well-formed id of a row that does not exist, for every type', async () => {
        for (const type of Object.keys(all)) {
          const err = await gqlErrorCode(t, `query($id: ID!) { node(id: $id) { id } }`, {
            id: toGlobalId(type, 987654),
          });
          assert.equal(err.code, 'NOT_FOUND', type);
        }
      });

      it('answers NOT_FOUND for an id of an unknown type', async () => {
        for (const type of [
          'Banana',
          'Node',
          'constructor',
          'toString',
          'hasOwnProperty',
          'valueOf',
        ]) {
          const err = await gqlErrorCode(t, `query($id: ID!) { node(id: $id) { id } }`, {
            id: toGlobalId(type, 1),
          });
          assert.equal(err.code, 'NOT_FOUND', type);
        }
      });

      it('does not reveal API keys through node(id)', async () => {
        const [{ id }] = await t.server.ds.query<{ id: number }[]>(
          'SELECT id FROM api_keys ORDER BY id LIMIT 1',
        );
        const err = await gqlErrorCode(t, `query($id: ID!) { node(id: $id) { id } }`, {
          id: toGlobalId('ApiKey', id),
        });
        assert.equal(err.code, 'NOT_FOUND');
      });

      it('refuses an id that is not a global id as BAD_USER_INPUT', async () => {
        const err = await gqlErrorCode(t, `{ node(id: "definitely not an id") { id } }`);
        assert.equal(err.code, 'BAD_USER_INPUT');
      });
    });
  });
});
