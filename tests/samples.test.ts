import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  IMPORT_SAMPLES,
  createCheckpoint,
  createDataset,
  createPolicy,
  gqlErrorCode,
  gqlOk,
  importSamples,
  insertAssignment,
  insertCurriculum,
  insertPassRate,
  sampleRefs,
  type Ref,
} from './helpers/seed';

const SAMPLES = `query($filter: SampleFilter, $first: Int! = 50) {
  samples(filter: $filter, first: $first) { nodes { externalId } }
}`;

describe('samples', () => {
  let t: TestServer;
  /** Externalids of the samples a filter returns, in page order. */
  const ids = async (filter: Record<string, unknown>) => {
    const data = await gqlOk<{ samples: { nodes: { externalId: string }[] } }>(t, SAMPLES, {
      filter,
    });
    return data.samples.nodes.map((n) => n.externalId);
  };

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  describe('importSamples', () => {
    it('inserts new samples and reports their count', async () => {
      const ds = await createDataset(t, 'imp-new');
      const res = await importSamples(t, ds.id, [
        { externalId: 'a', problem: 'What is 1+1?', answer: '2', domain: 'arith', tags: ['x'] },
        { externalId: 'b', problem: 'What is 2+2?', answer: '4' },
      ]);
      assert.deepEqual(res, { inserted: 2, existing: 0, duplicateCount: 0, duplicates: [] });
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f) { nodes { externalId problem answer domain tags metadata dataset { name } } } }`,
        { f: { datasetIds: [ds.id] } },
      );
      assert.deepEqual(data.samples.nodes, [
        {
          externalId: 'a',
          problem: 'What is 1+1?',
          answer: '2',
          domain: 'arith',
          tags: ['x'],
          metadata: {},
          dataset: { name: 'imp-new' },
        },
        {
          externalId: 'b',
          problem: 'What is 2+2?',
          answer: '4',
          domain: null,
          tags: [],
          metadata: {},
          dataset: { name: 'imp-new' },
        },
      ]);
    });

    it('counts re-sent externalIds as existing and creates no duplicate row', async () => {
      const ds = await createDataset(t, 'imp-again');
      const batch = [
        { externalId: 'a', problem: 'p one' },
        { externalId: 'b', problem: 'p two' },
      ];
      await importSamples(t, ds.id, batch);
      const again = await importSamples(t, ds.id, [
        ...batch,
        { externalId: 'c', problem: 'p three' },
      ]);
      assert.deepEqual(again, { inserted: 1, existing: 2, duplicateCount: 0, duplicates: [] });
      const [{ n }] = await t.server.ds.query<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM samples WHERE dataset_id = $1',
        [ds.pk],
      );
      assert.equal(n, 3);
    });

    it('keeps the stored sample unchanged when an existing externalId is re-sent with new text', async () => {
      const ds = await createDataset(t, 'imp-unchanged');
      await importSamples(t, ds.id, [{ externalId: 'a', problem: 'original', answer: '1' }]);
      const res = await importSamples(t, ds.id, [
        { externalId: 'a', problem: 'rewritten', answer: '2' },
      ]);
      assert.equal(res.inserted, 0);
      assert.equal(res.existing, 1);
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f) { nodes { problem answer } } }`,
        {
          f: { datasetIds: [ds.id] },
        },
      );
      assert.deepEqual(data.samples.nodes, [{ problem: 'original', answer: '1' }]);
    });

    it('reports a problem that differs from a stored one only in case and whitespace as a duplicate, without inserting it', async () => {
      const ds = await createDataset(t, 'imp-dup');
      await importSamples(t, ds.id, [{ externalId: 'orig', problem: 'Solve  x + 1 = 2.' }]);
      const res = await importSamples(t, ds.id, [
        { externalId: 'fresh', problem: 'Something else entirely' },
        { externalId: 'copy', problem: '  SOLVE x +\n1   =  2.  ' },
      ]);
      assert.deepEqual(res, {
        inserted: 1,
        existing: 0,
        duplicateCount: 1,
        duplicates: [{ line: 2, externalId: 'copy', duplicateOfExternalId: 'orig' }],
      });
      assert.deepEqual([...(await sampleRefs(t, ds)).keys()], ['orig', 'fresh']);
    });

    it('reports the later of two same-problem samples in one batch as a duplicate of the earlier', async () => {
      const ds = await createDataset(t, 'imp-dup-batch');
      const res = await importSamples(t, ds.id, [
        { externalId: 'first', problem: 'Compute 3*3' },
        { externalId: 'second', problem: 'compute 3*3' },
      ]);
      assert.deepEqual(res, {
        inserted: 1,
        existing: 0,
        duplicateCount: 1,
        duplicates: [{ line: 2, externalId: 'second', duplicateOfExternalId: 'first' }],
      });
    });

    it('allows the same problem in two different datasets', async () => {
      const a = await createDataset(t, 'imp-cross-a');
      const b = await createDataset(t, 'imp-cross-b');
      await importSamples(t, a.id, [{ externalId: 'x', problem: 'shared problem' }]);
      const res = await importSamples(t, b.id, [{ externalId: 'y', problem: 'shared problem' }]);
      assert.equal(res.inserted, 1);
      assert.equal(res.duplicateCount, 0);
    });

    it('round-trips tabs, newlines, backslashes, quotes and commas in text and tags', async () => {
      const ds = await createDataset(t, 'imp-escapes');
      const problem = 'line1\n\tline2 \\. back\\slash "quoted" {brace}';
      const tags = ['a,b', 'say "hi"', 'back\\slash', 'NULL', '{x}'];
      await importSamples(t, ds.id, [
        { externalId: 'esc', problem, answer: 'a\tb', tags, metadata: { k: ['v', 1] } },
      ]);
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f) { nodes { problem answer tags metadata } } }`,
        {
          f: { datasetIds: [ds.id] },
        },
      );
      assert.deepEqual(data.samples.nodes, [
        { problem, answer: 'a\tb', tags, metadata: { k: ['v', 1] } },
      ]);
    });

    it('refuses more than 1,000 samples in one call as BAD_USER_INPUT and writes nothing', async () => {
      const ds = await createDataset(t, 'imp-too-many');
      const samples = Array.from({ length: 1001 }, (_, i) => ({
        externalId: `s${i}`,
        problem: `problem ${i}`,
        answer: '0',
      }));
      const err = await gqlErrorCode(t, IMPORT_SAMPLES, { input: { datasetId: ds.id, samples } });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /1000|1,000/);
      assert.equal((await sampleRefs(t, ds)).size, 0);
    });

    it('accepts exactly 1,000 samples in one call', async () => {
      const ds = await createDataset(t, 'imp-max');
      const samples = Array.from({ length: 1000 }, (_, i) => ({
        externalId: `s${i}`,
        problem: `problem number ${i}`,
      }));
      const res = await importSamples(t, ds.id, samples);
      assert.equal(res.inserted, 1000);
    });

    it('refuses an import into a dataset that does not exist as NOT_FOUND', async () => {
      const err = await gqlErrorCode(t, IMPORT_SAMPLES, {
        input: {
          datasetId: Buffer.from('Dataset:999999').toString('base64url'),
          samples: [{ externalId: 'a', problem: 'p', answer: 'a' }],
        },
      });
      assert.equal(err.code, 'NOT_FOUND');
    });

    it('refuses an import with a read-only key as FORBIDDEN', async () => {
      const ds = await createDataset(t, 'imp-readonly');
      const res = await t.gql(
        IMPORT_SAMPLES,
        { input: { datasetId: ds.id, samples: [{ externalId: 'a', problem: 'p', answer: 'a' }] } },
        t.keys.read,
      );
      assert.equal(res.errors?.[0].extensions.code, 'FORBIDDEN');
      assert.equal((await sampleRefs(t, ds)).size, 0);
    });
  });

  describe('filters', () => {
    let dsA: Ref;
    let dsB: Ref;
    let dsC: Ref;
    let refs: Map<string, Ref>;
    let ckpt: Ref;
    let otherCkpt: Ref;
    let curriculum: Ref;
    /** Like ids, within the datasets seeded here unless the filter names others. */
    const scoped = (filter: Record<string, unknown>) =>
      ids({ datasetIds: [dsA.id, dsB.id, dsC.id], ...filter });

    before(async () => {
      dsA = await createDataset(t, 'flt-a');
      dsB = await createDataset(t, 'flt-b');
      dsC = await createDataset(t, 'flt-c');
      await importSamples(t, dsA.id, [
        {
          externalId: 'a1',
          problem: 'Find the AREA of a circle',
          domain: 'geometry',
          tags: ['easy', 'circle'],
        },
        { externalId: 'a2', problem: 'Compute 50% of 80', domain: 'arith', tags: ['easy'] },
        {
          externalId: 'a3',
          problem: 'Evaluate snake_case_name length',
          domain: 'strings',
          tags: ['hard', 'circle'],
        },
      ]);
      await importSamples(t, dsB.id, [
        { externalId: 'b1', problem: 'Area under a curve', domain: 'calculus', tags: ['hard'] },
        { externalId: 'b2', problem: 'Compute 5 of 80', domain: 'arith', tags: [] },
        {
          externalId: 'b3',
          problem: 'Evaluate snakeXcaseYname',
          domain: null,
          tags: ['easy', 'hard', 'circle'],
        },
      ]);
      await importSamples(t, dsC.id, [{ externalId: 'c1', problem: 'unrelated', domain: 'arith' }]);
      refs = new Map([...(await sampleRefs(t, dsA)), ...(await sampleRefs(t, dsB))]);

      ckpt = await createCheckpoint(t, { name: 'flt-ckpt' });
      otherCkpt = await createCheckpoint(t, { name: 'flt-other' });
      const rates: [string, number][] = [
        ['a1', 0],
        ['a2', 2],
        ['a3', 4],
        ['b1', 6],
        ['b2', 8],
      ];
      for (const [ext, successes] of rates) {
        await insertPassRate(t, {
          sample: refs.get(ext)!,
          checkpoint: ckpt,
          attempts: 8,
          successes,
        });
      }
      // Under another checkpoint the rates are reversed: a filter must not mix checkpoints.
      for (const [ext, successes] of rates) {
        await insertPassRate(t, {
          sample: refs.get(ext)!,
          checkpoint: otherCkpt,
          attempts: 8,
          successes: 8 - successes,
        });
      }

      const policy = await createPolicy(t, { name: 'flt-policy' });
      curriculum = await insertCurriculum(t, { name: 'flt-cur', baseCheckpoint: ckpt, policy });
      const other = await insertCurriculum(t, { name: 'flt-cur-2', baseCheckpoint: ckpt, policy });
      const assign = (c: Ref, round: number, ext: string, stage: 'SFT' | 'RL' | 'DROPPED') =>
        insertAssignment(t, {
          curriculum: c,
          round,
          sample: refs.get(ext)!,
          stage,
          policy,
          checkpoint: ckpt,
        });
      await assign(curriculum, 1, 'a1', 'SFT');
      await assign(curriculum, 1, 'a2', 'SFT');
      await assign(curriculum, 1, 'a3', 'RL');
      await assign(curriculum, 2, 'a3', 'SFT');
      await assign(curriculum, 2, 'b1', 'SFT');
      await assign(other, 1, 'b2', 'SFT');
    });

    it('filters by datasetIds, keeping samples of any listed dataset', async () => {
      assert.deepEqual(await scoped({ datasetIds: [dsA.id] }), ['a1', 'a2', 'a3']);
      assert.deepEqual(await scoped({ datasetIds: [dsB.id, dsA.id] }), [
        'a1',
        'a2',
        'a3',
        'b1',
        'b2',
        'b3',
      ]);
    });

    it('refuses a datasetIds entry that is not a Dataset id as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, { filter: { datasetIds: [refs.get('a1')!.id] } });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /Sample id/);
    });

    it('filters by tagsAny: samples with at least one of the tags', async () => {
      assert.deepEqual(await scoped({ datasetIds: [dsA.id, dsB.id], tagsAny: ['circle'] }), [
        'a1',
        'a3',
        'b3',
      ]);
      assert.deepEqual(
        await scoped({ datasetIds: [dsA.id, dsB.id], tagsAny: ['circle', 'hard'] }),
        ['a1', 'a3', 'b1', 'b3'],
      );
      assert.deepEqual(await scoped({ tagsAny: ['nope'] }), []);
    });

    it('filters by tagsAll: samples with every one of the tags', async () => {
      assert.deepEqual(
        await scoped({ datasetIds: [dsA.id, dsB.id], tagsAll: ['easy', 'circle'] }),
        ['a1', 'b3'],
      );
      assert.deepEqual(
        await scoped({ datasetIds: [dsA.id, dsB.id], tagsAll: ['easy', 'hard', 'circle'] }),
        ['b3'],
      );
    });

    it('filters by domain, exactly', async () => {
      assert.deepEqual(await scoped({ domain: 'arith' }), ['a2', 'b2', 'c1']);
      assert.deepEqual(await scoped({ domain: 'arith', datasetIds: [dsB.id] }), ['b2']);
      assert.deepEqual(await scoped({ domain: 'arit' }), []);
    });

    it('filters domain: null to the samples without a domain', async () => {
      assert.deepEqual(await scoped({ domain: null, datasetIds: [dsA.id, dsB.id] }), ['b3']);
    });

    it('filters by problemContains, case-insensitively', async () => {
      assert.deepEqual(await scoped({ problemContains: 'area' }), ['a1', 'b1']);
      assert.deepEqual(await scoped({ problemContains: 'AREA OF' }), ['a1']);
    });

    it("matches '%' in problemContains literally, not as a wildcard", async () => {
      assert.deepEqual(await scoped({ problemContains: '50%' }), ['a2']);
      // As a wildcard '5%80' would match "Compute 5 of 80" and "Compute 50% of 80".
      assert.deepEqual(await scoped({ problemContains: '5%80' }), []);
      assert.deepEqual(await scoped({ problemContains: '%' }), ['a2']);
    });

    it("matches '_' in problemContains literally, not as any one character", async () => {
      assert.deepEqual(await scoped({ problemContains: 'snake_case' }), ['a3']);
      assert.deepEqual(await scoped({ problemContains: '_' }), ['a3']);
    });

    it('matches a backslash in problemContains literally', async () => {
      const ds = await createDataset(t, 'flt-backslash');
      await importSamples(t, ds.id, [
        { externalId: 'bs', problem: 'path C:\\temp' },
        { externalId: 'nobs', problem: 'path C:temp' },
      ]);
      assert.deepEqual(await ids({ datasetIds: [ds.id], problemContains: ':\\t' }), ['bs']);
    });

    it('refuses an empty problemContains as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, { filter: { problemContains: '' } });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('filters by pass rate under one checkpoint within [min, max]', async () => {
      const pr = (min?: number, max?: number) =>
        scoped({ passRate: { checkpointId: ckpt.id, min, max } });
      assert.deepEqual(await pr(0.25, 0.75), ['a2', 'a3', 'b1']);
      assert.deepEqual(await pr(undefined, 0.25), ['a1', 'a2']);
      assert.deepEqual(await pr(0.75), ['b1', 'b2']);
      assert.deepEqual(await pr(), ['a1', 'a2', 'a3', 'b1', 'b2']);
      assert.deepEqual(await pr(0.5, 0.5), ['a3']);
    });

    it('uses the pass rates of the named checkpoint only', async () => {
      assert.deepEqual(await scoped({ passRate: { checkpointId: otherCkpt.id, min: 0.75 } }), [
        'a1',
        'a2',
      ]);
    });

    it('counts samples under a pass-rate filter in totalCount', async () => {
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f, first: 1) { totalCount nodes { externalId } } }`,
        {
          f: { passRate: { checkpointId: ckpt.id, min: 0.25, max: 0.75 } },
        },
      );
      assert.equal(data.samples.totalCount, 3);
      assert.deepEqual(data.samples.nodes, [{ externalId: 'a2' }]);
    });

    it('refuses a pass-rate range with min above max as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, {
        filter: { passRate: { checkpointId: ckpt.id, min: 0.8, max: 0.2 } },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /min/);
    });

    it('refuses a pass-rate bound outside [0, 1] as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, {
        filter: { passRate: { checkpointId: ckpt.id, min: -0.1 } },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('refuses a pass-rate checkpointId that is not a Checkpoint id as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, {
        filter: { passRate: { checkpointId: dsA.id } },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('filters by stage in one round of one curriculum', async () => {
      const st = (round: number, stage: string, c = curriculum) =>
        scoped({ stage: { curriculumId: c.id, round, stage } });
      assert.deepEqual(await st(1, 'SFT'), ['a1', 'a2']);
      assert.deepEqual(await st(1, 'RL'), ['a3']);
      assert.deepEqual(await st(2, 'SFT'), ['a3', 'b1']);
      assert.deepEqual(await st(2, 'RL'), []);
      assert.deepEqual(await st(3, 'SFT'), []);
    });

    it('refuses a stage round below 1 as BAD_USER_INPUT', async () => {
      const err = await gqlErrorCode(t, SAMPLES, {
        filter: { stage: { curriculumId: curriculum.id, round: 0, stage: 'SFT' } },
      });
      assert.equal(err.code, 'BAD_USER_INPUT');
    });

    it('combines filters with AND', async () => {
      assert.deepEqual(
        await scoped({
          datasetIds: [dsA.id],
          tagsAny: ['circle'],
          passRate: { checkpointId: ckpt.id, max: 0.5 },
          stage: { curriculumId: curriculum.id, round: 1, stage: 'SFT' },
        }),
        ['a1'],
      );
    });
  });
});
