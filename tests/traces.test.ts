import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  IMPORT_TRACES,
  createCheckpoint,
  createDataset,
  gqlErrorCode,
  gqlOk,
  importSamples,
  importTraces,
  insertRun,
  linkTrace,
  sampleRefs,
  traceRefs,
  type Ref,
} from './helpers/seed';

const TRACES = `query($filter: TraceFilter, $first: Int! = 50) {
  traces(filter: $filter, first: $first) { nodes { externalId } }
}`;

const countTraces = async (t: TestServer, dataset: Ref) => {
  const [{ n }] = await t.server.ds.query<{ n: number }[]>(
    'SELECT count(*)::int AS n FROM traces tr JOIN samples s ON s.id = tr.sample_id WHERE s.dataset_id = $1',
    [dataset.pk],
  );
  return n;
};

describe('traces', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  describe('importTraces', () => {
    let ds: Ref;
    before(async () => {
      ds = await createDataset(t, 'tr-imp');
      await importSamples(t, ds.id, [
        { externalId: 's1', problem: 'one' },
        { externalId: 's2', problem: 'two' },
      ]);
    });

    it('writes traces with every field and counts them as inserted', async () => {
      const res = await importTraces(t, ds.id, [
        {
          sampleExternalId: 's1',
          externalId: 'full',
          kind: 'ROLLOUT',
          text: 'think\n\tthen answer \\ 7',
          finalAnswer: '7',
          correct: false,
          reward: -0.5,
          graderVersion: 'g2',
          producer: 'student-v1',
          tokenCount: 12,
          metadata: { temperature: 0.7 },
        },
      ]);
      assert.deepEqual(res, { inserted: 1, existing: 0 });
      const data = await gqlOk(
        t,
        `{ traces(filter: { producer: "student-v1" }) { nodes {
            externalId kind text finalAnswer correct reward graderVersion producer tokenCount
            studentNll metadata sample { externalId } parent { id } run { id } } } }`,
      );
      assert.deepEqual(data.traces.nodes, [
        {
          externalId: 'full',
          kind: 'ROLLOUT',
          text: 'think\n\tthen answer \\ 7',
          finalAnswer: '7',
          correct: false,
          reward: -0.5,
          graderVersion: 'g2',
          producer: 'student-v1',
          tokenCount: 12,
          studentNll: null,
          metadata: { temperature: 0.7 },
          sample: { externalId: 's1' },
          parent: null,
          run: null,
        },
      ]);
    });

    it('inserts nothing when identical traces without externalId are sent again', async () => {
      const batch = [
        {
          sampleExternalId: 's1',
          kind: 'TEACHER' as const,
          text: 'ref solution',
          producer: 'teacher',
        },
        {
          sampleExternalId: 's2',
          kind: 'TEACHER' as const,
          text: 'ref solution',
          producer: 'teacher',
        },
      ];
      const before = await countTraces(t, ds);
      assert.deepEqual(await importTraces(t, ds.id, batch), { inserted: 2, existing: 0 });
      assert.deepEqual(await importTraces(t, ds.id, batch), { inserted: 0, existing: 2 });
      assert.equal(await countTraces(t, ds), before + 2);
    });

    it('gives traces without externalId a content hash, so a changed text, kind or producer is a new trace', async () => {
      const base = {
        sampleExternalId: 's2',
        kind: 'ROLLOUT' as const,
        text: 'hash me',
        producer: 'p',
      };
      assert.equal((await importTraces(t, ds.id, [base])).inserted, 1);
      const res = await importTraces(t, ds.id, [
        base,
        { ...base, text: 'hash me!' },
        { ...base, kind: 'BRIDGED' },
        { ...base, producer: 'q' },
      ]);
      assert.deepEqual(res, { inserted: 3, existing: 1 });
      const data = await gqlOk(
        t,
        `{ traces(filter: { producer: "p", kind: ROLLOUT }) { nodes { externalId } } }`,
      );
      assert.match(data.traces.nodes[0].externalId, /^h:[0-9a-f]{32}$/);
    });

    it('reports a repeat of the same trace within one batch as repeated, not existing', async () => {
      const one = { sampleExternalId: 's1', kind: 'ROLLOUT' as const, text: 'twice in a batch' };
      const data = await gqlOk<{ importTraces: Record<string, unknown> }>(
        t,
        `mutation($input: ImportTracesInput!) {
          importTraces(input: $input) {
            inserted existing repeatedCount repeated { line externalId duplicateOfLine }
          }
        }`,
        { input: { datasetId: ds.id, traces: [one, one] } },
      );
      const res = data.importTraces;
      assert.equal(res.inserted, 1);
      assert.equal(res.existing, 0);
      assert.equal(res.repeatedCount, 1);
      assert.deepEqual(res.repeated, [
        {
          line: 2,
          externalId: (res.repeated as { externalId: string }[])[0].externalId,
          duplicateOfLine: 1,
        },
      ]);
      assert.match((res.repeated as { externalId: string }[])[0].externalId, /^h:/);
    });

    it('is idempotent per (sample, externalId): the same externalId on another sample is a new trace', async () => {
      const res = await importTraces(t, ds.id, [
        { sampleExternalId: 's1', externalId: 'shared', kind: 'ROLLOUT', text: 'a' },
        { sampleExternalId: 's2', externalId: 'shared', kind: 'ROLLOUT', text: 'b' },
      ]);
      assert.deepEqual(res, { inserted: 2, existing: 0 });
      const again = await importTraces(t, ds.id, [
        { sampleExternalId: 's1', externalId: 'shared', kind: 'ROLLOUT', text: 'changed' },
      ]);
      assert.deepEqual(again, { inserted: 0, existing: 1 });
      const s1 = (await sampleRefs(t, ds)).get('s1')!;
      const data = await gqlOk(
        t,
        `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { externalId text } } }`,
        {
          id: s1.id,
        },
      );
      assert.deepEqual(
        data.traces.nodes.filter((n: { externalId: string }) => n.externalId === 'shared'),
        [{ externalId: 'shared', text: 'a' }],
      );
    });

    it('refuses a batch naming an unknown sampleExternalId as BAD_USER_INPUT with its line, writing nothing', async () => {
      const before = await countTraces(t, ds);
      const err = await gqlErrorCode(t, IMPORT_TRACES, {
        input: {
          datasetId: ds.id,
          traces: [
            { sampleExternalId: 's1', kind: 'ROLLOUT', text: 'valid one, never written' },
            { sampleExternalId: 's2', kind: 'ROLLOUT', text: 'valid two, never written' },
            { sampleExternalId: 'ghost', kind: 'ROLLOUT', text: 'orphan' },
          ],
        },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /line 3/);
      assert.match(err.message, /ghost/);
      assert.equal(err.extensions.line, 3);
      assert.equal(err.extensions.sampleExternalId, 'ghost');
      assert.equal(await countTraces(t, ds), before);
    });

    it('refuses a sampleExternalId that exists only in another dataset', async () => {
      const other = await createDataset(t, 'tr-imp-other');
      await importSamples(t, other.id, [{ externalId: 'elsewhere', problem: 'x' }]);
      const err = await gqlErrorCode(t, IMPORT_TRACES, {
        input: {
          datasetId: ds.id,
          traces: [{ sampleExternalId: 'elsewhere', kind: 'ROLLOUT', text: 'x' }],
        },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /line 1/);
    });

    it('refuses more than 1,000 traces in one call as BAD_USER_INPUT', async () => {
      const traces = Array.from({ length: 1001 }, (_, i) => ({
        sampleExternalId: 's1',
        kind: 'ROLLOUT',
        text: `t${i}`,
      }));
      const before = await countTraces(t, ds);
      const err = await gqlErrorCode(t, IMPORT_TRACES, { input: { datasetId: ds.id, traces } });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.equal(await countTraces(t, ds), before);
    });
  });

  describe('filters and relations', () => {
    let ds: Ref;
    let s1: Ref;
    let s2: Ref;
    let run1: Ref;
    let run2: Ref;
    let tr: Map<string, Ref>;

    before(async () => {
      ds = await createDataset(t, 'tr-flt');
      await importSamples(t, ds.id, [
        { externalId: 's1', problem: 'one' },
        { externalId: 's2', problem: 'two' },
      ]);
      const samples = await sampleRefs(t, ds);
      s1 = samples.get('s1')!;
      s2 = samples.get('s2')!;
      await importTraces(t, ds.id, [
        {
          sampleExternalId: 's1',
          externalId: 't1',
          kind: 'TEACHER',
          text: 'a',
          producer: 'teacher-70b',
        },
        {
          sampleExternalId: 's1',
          externalId: 'r1',
          kind: 'ROLLOUT',
          text: 'b',
          producer: 'student',
          correct: true,
        },
        {
          sampleExternalId: 's1',
          externalId: 'r2',
          kind: 'ROLLOUT',
          text: 'c',
          producer: 'student',
          correct: false,
        },
        {
          sampleExternalId: 's2',
          externalId: 'r3',
          kind: 'ROLLOUT',
          text: 'd',
          producer: 'student',
        },
        {
          sampleExternalId: 's2',
          externalId: 'b1',
          kind: 'BRIDGED',
          text: 'e',
          producer: 'bridger',
          correct: true,
        },
      ]);
      tr = new Map([...(await traceRefs(t, s1)), ...(await traceRefs(t, s2))]);
      const ckpt = await createCheckpoint(t, { name: 'tr-ckpt' });
      run1 = await insertRun(t, { stage: 'PROBE', status: 'SUCCEEDED', inputCheckpoint: ckpt });
      run2 = await insertRun(t, { stage: 'BRIDGE', status: 'RUNNING' });
      await linkTrace(t, tr.get('r1')!, { run: run1 });
      await linkTrace(t, tr.get('r2')!, { run: run1 });
      await linkTrace(t, tr.get('b1')!, { run: run2, parent: tr.get('t1')! });
    });

    const ids = async (filter: Record<string, unknown>) => {
      const data = await gqlOk<{ traces: { nodes: { externalId: string }[] } }>(t, TRACES, {
        filter: { ...filter },
      });
      return data.traces.nodes.map((n) => n.externalId);
    };

    it('filters by sampleId', async () => {
      assert.deepEqual(await ids({ sampleId: s1.id }), ['t1', 'r1', 'r2']);
      assert.deepEqual(await ids({ sampleId: s2.id }), ['r3', 'b1']);
    });

    it('refuses a sampleId that is not a Sample id as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, TRACES, { filter: { sampleId: ds.id } });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('filters by kind', async () => {
      assert.deepEqual(await ids({ sampleId: s1.id, kind: 'ROLLOUT' }), ['r1', 'r2']);
      assert.deepEqual(await ids({ sampleId: s2.id, kind: 'BRIDGED' }), ['b1']);
      assert.deepEqual(await ids({ sampleId: s2.id, kind: 'TEACHER' }), []);
    });

    it('filters by correct, true and false (imported without a grade: graded on the way in)', async () => {
      // t1 ("a") and r3 ("d") came without a grade and hold no answer: the grader says wrong.
      assert.deepEqual(await ids({ sampleId: s1.id, correct: true }), ['r1']);
      assert.deepEqual(await ids({ sampleId: s1.id, correct: false }), ['t1', 'r2']);
      assert.deepEqual(await ids({ sampleId: s2.id, correct: true }), ['b1']);
      assert.deepEqual(await ids({ sampleId: s2.id, correct: false }), ['r3']);
    });

    it('filters by runId', async () => {
      assert.deepEqual(await ids({ runId: run1.id }), ['r1', 'r2']);
      assert.deepEqual(await ids({ runId: run2.id }), ['b1']);
    });

    it('refuses a runId that is not a Run id as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, TRACES, { filter: { runId: s1.id } });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('filters by producer, exactly', async () => {
      assert.deepEqual(await ids({ producer: 'student' }), ['r1', 'r2', 'r3']);
      assert.deepEqual(await ids({ producer: 'Student' }), []);
      assert.deepEqual(await ids({ producer: 'student', correct: true }), ['r1']);
    });

    it('resolves trace.sample to the sample the trace is about', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { sample { id externalId } } } }`,
        {
          id: s2.id,
        },
      );
      assert.deepEqual(data.traces.nodes, [
        { sample: { id: s2.id, externalId: 's2' } },
        { sample: { id: s2.id, externalId: 's2' } },
      ]);
    });

    it('resolves trace.parent to the trace it was derived from, and null when there is none', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { externalId parent { id externalId kind } } } }`,
        {
          id: s2.id,
        },
      );
      assert.deepEqual(data.traces.nodes, [
        { externalId: 'r3', parent: null },
        { externalId: 'b1', parent: { id: tr.get('t1')!.id, externalId: 't1', kind: 'TEACHER' } },
      ]);
    });

    it('resolves trace.run to the run that wrote it, and null when there is none', async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { externalId run { id stage status inputCheckpoint { name } } } } }`,
        {
          id: s1.id,
        },
      );
      assert.deepEqual(data.traces.nodes, [
        { externalId: 't1', run: null },
        {
          externalId: 'r1',
          run: {
            id: run1.id,
            stage: 'PROBE',
            status: 'SUCCEEDED',
            inputCheckpoint: { name: 'tr-ckpt' },
          },
        },
        {
          externalId: 'r2',
          run: {
            id: run1.id,
            stage: 'PROBE',
            status: 'SUCCEEDED',
            inputCheckpoint: { name: 'tr-ckpt' },
          },
        },
      ]);
    });

    it("lists a sample's traces through sample.traces with kind and correct arguments", async () => {
      const data = await gqlOk(
        t,
        `query($id: ID!) { node(id: $id) { ... on Sample {
            all: traces { externalId } rollouts: traces(kind: ROLLOUT) { externalId }
            wrong: traces(correct: false) { externalId } one: traces(first: 1) { externalId } } } }`,
        { id: s1.id },
      );
      assert.deepEqual(data.node, {
        all: [{ externalId: 't1' }, { externalId: 'r1' }, { externalId: 'r2' }],
        rollouts: [{ externalId: 'r1' }, { externalId: 'r2' }],
        wrong: [{ externalId: 't1' }, { externalId: 'r2' }],
        one: [{ externalId: 't1' }],
      });
    });
  });
});
