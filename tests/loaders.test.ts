import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createDataset,
  createPolicy,
  gqlOk,
  importSamples,
  importTraces,
  insertCritique,
  insertCurriculum,
  insertRun,
  insertRunEvents,
  sampleRefs,
  traceRefs,
  type Ref,
} from './helpers/seed';

const NESTED = `query($first: Int!) {
  samples(first: $first) {
    nodes {
      id externalId
      dataset { name }
      traces { id externalId sample { id } }
      passRates { rate checkpoint { name } }
      assignments { stage round policy { name version } }
    }
  }
}`;

interface NestedSample {
  id: string;
  externalId: string;
  dataset: { name: string };
  traces: { id: string; externalId: string; sample: { id: string } }[];
  passRates: { rate: number; checkpoint: { name: string } }[];
  assignments: { stage: string; round: number; policy: { name: string; version: number } }[];
}

/**
 * The statements one request costs (its API key is cached after the first request): the page,
 * then one batched statement per nested field whatever the number of parents: dataset, traces,
 * trace.sample, passRates, passRate.checkpoint, assignments, assignment.policy.
 */
const NESTED_STATEMENTS = 8;

describe('loaders', () => {
  let t: TestServer;

  /** Statements one request sends, after a warm-up so the key's lastUsedAt write is done. */
  const statements = async (query: string, variables?: Record<string, unknown>) => {
    t.counter.count = 0;
    const data = await gqlOk(t, query, variables);
    return { count: t.counter.count, data };
  };

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('counts the statements of requests, not background work on the same pool', async () => {
    await gqlOk(t, `{ datasets { totalCount } }`); // warm-up: the key's lastUsedAt write
    t.counter.count = 0;
    // What the run supervisor or a curriculum tick does between two requests.
    await t.server.ds.query('SELECT 1');
    await t.server.ds.getRepository('Dataset').count();
    assert.equal(t.counter.count, 0, 'statements outside any request are not counted');
    const once = await statements(`{ datasets { totalCount } }`);
    const again = await statements(`{ datasets { totalCount } }`);
    assert.ok(once.count > 0, "a request's statements are counted");
    assert.equal(again.count, once.count);
  });

  describe('samples with nested fields', () => {
    const N = 100;
    let samples: Map<string, Ref>;

    before(async () => {
      const dsA = await createDataset(t, 'ld-a');
      const dsB = await createDataset(t, 'ld-b');
      // Alternate datasets so the page spans both.
      for (const [ds, parity] of [
        [dsA, 0],
        [dsB, 1],
      ] as const) {
        const mine = Array.from({ length: N }, (_, i) => i).filter((i) => i % 2 === parity);
        await importSamples(
          t,
          ds.id,
          mine.map((i) => ({
            externalId: `s${String(i).padStart(3, '0')}`,
            problem: `problem ${i}`,
          })),
        );
        await importTraces(
          t,
          ds.id,
          mine.flatMap((i) =>
            [0, 1, 2].map((k) => ({
              sampleExternalId: `s${String(i).padStart(3, '0')}`,
              externalId: `s${String(i).padStart(3, '0')}-t${k}`,
              kind: 'ROLLOUT' as const,
              text: `rollout ${k} of ${i}`,
            })),
          ),
        );
      }
      samples = new Map([...(await sampleRefs(t, dsA)), ...(await sampleRefs(t, dsB))]);
      const c1 = await createCheckpoint(t, { name: 'ld-c1' });
      const c2 = await createCheckpoint(t, { name: 'ld-c2' });
      const p1 = await createPolicy(t, { name: 'ld-policy' });
      const p2 = await createPolicy(t, { name: 'ld-policy', tauLow: 0.2 });
      const cur = await insertCurriculum(t, { name: 'ld-cur', baseCheckpoint: c1, policy: p1 });
      // Two pass rates (rate = successes / 10 under c1, the reverse under c2) and two
      // assignments (round 1 with policy v1, round 2 with v2) per sample, set-based.
      await t.server.ds.query(
        `INSERT INTO pass_rates (sample_id, checkpoint_id, attempts, successes, rate, wilson_low, wilson_high)
         SELECT s.id, c.id, 10, x.succ, x.succ / 10.0, 0, 1
         FROM samples s
         CROSS JOIN LATERAL (VALUES ($1::int, (s.id % 11)::int), ($2::int, (10 - s.id % 11)::int)) AS x(ckpt, succ)
         JOIN checkpoints c ON c.id = x.ckpt`,
        [c1.pk, c2.pk],
      );
      await t.server.ds.query(
        `INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id, checkpoint_id, reason)
         SELECT $1, r.round, s.id, (CASE WHEN s.id % 2 = 0 THEN 'SFT' ELSE 'RL' END)::assignment_stage, r.policy, $2, 'seeded'
         FROM samples s CROSS JOIN (VALUES (1, $3::int), (2, $4::int)) AS r(round, policy)`,
        [cur.pk, c1.pk, p1.pk, p2.pk],
      );
      await gqlOk(t, '{ samples(first: 1) { nodes { id } } }'); // warm-up
    });

    it('costs the same fixed number of statements for 10 and for 100 samples', async () => {
      const ten = await statements(NESTED, { first: 10 });
      const hundred = await statements(NESTED, { first: 100 });
      assert.equal(ten.data.samples.nodes.length, 10);
      assert.equal(hundred.data.samples.nodes.length, 100);
      assert.equal(ten.count, NESTED_STATEMENTS);
      assert.equal(hundred.count, NESTED_STATEMENTS);
    });

    it('gives each sample its own traces, pass rates and assignments', async () => {
      const { data } = await statements(NESTED, { first: 100 });
      const nodes = data.samples.nodes as NestedSample[];
      assert.deepEqual(
        nodes.map((n) => n.id),
        [...samples.values()].sort((a, b) => Number(a.pk) - Number(b.pk)).map((r) => r.id),
      );
      for (const n of nodes) {
        const pk = Number(Buffer.from(n.id, 'base64url').toString().split(':')[1]);
        assert.equal(n.dataset.name, Number(n.externalId.slice(1)) % 2 === 0 ? 'ld-a' : 'ld-b');
        assert.deepEqual(
          n.traces.map((tr) => tr.externalId),
          [0, 1, 2].map((k) => `${n.externalId}-t${k}`),
        );
        for (const tr of n.traces) assert.equal(tr.sample.id, n.id);
        const rates = new Map(n.passRates.map((p) => [p.checkpoint.name, p.rate]));
        assert.equal(rates.size, 2);
        assert.equal(rates.get('ld-c1'), (pk % 11) / 10);
        assert.equal(rates.get('ld-c2'), (10 - (pk % 11)) / 10);
        assert.deepEqual(
          n.assignments.map((a) => ({ ...a })).sort((a, b) => a.round - b.round),
          [1, 2].map((round) => ({
            stage: pk % 2 === 0 ? 'SFT' : 'RL',
            round,
            policy: { name: 'ld-policy', version: round },
          })),
        );
      }
      const [{ n: traceRows }] = await t.server.ds.query<
        {
          n: number;
        }[]
      >('SELECT count(*)::int AS n FROM traces');
      assert.equal(
        nodes.reduce((sum, n) => sum + n.traces.length, 0),
        traceRows,
      );
    });

    it('bounds nested lists per parent, not per request', async () => {
      const { data, count } = await statements(
        `{ samples(first: 100) { nodes { externalId traces(first: 2) { externalId } } } }`,
      );
      const nodes = data.samples.nodes as {
        externalId: string;
        traces: { externalId: string }[];
      }[];
      assert.equal(nodes.length, 100);
      for (const n of nodes) {
        assert.deepEqual(
          n.traces.map((tr) => tr.externalId),
          [`${n.externalId}-t0`, `${n.externalId}-t1`],
        );
      }
      assert.equal(count, 2);
    });

    it('batches the same nested field with different arguments into one statement per argument set', async () => {
      const { data, count } = await statements(
        `query($c: ID!) { samples(first: 20) { nodes { all: passRates { rate } only: passRates(checkpointId: $c) { checkpoint { name } } } } }`,
        {
          c: (
            await gqlOk(
              t,
              `{ checkpoints(filter: { baseModel: "qwen-0.5b" }) { nodes { id name } } }`,
            )
          ).checkpoints.nodes.find((c: { name: string }) => c.name === 'ld-c2').id,
        },
      );
      for (const n of data.samples.nodes) {
        assert.equal(n.all.length, 2);
        assert.deepEqual(n.only, [{ checkpoint: { name: 'ld-c2' } }]);
      }
      // page, passRates, passRates(checkpointId), checkpoint
      assert.equal(count, 4);
    });
  });

  describe('runs and critiques', () => {
    let runs: Ref[];
    let ckpts: Ref[];

    before(async () => {
      const ds = await createDataset(t, 'ld-runs');
      ckpts = [
        await createCheckpoint(t, { name: 'ld-run-in-0' }),
        await createCheckpoint(t, { name: 'ld-run-in-1' }),
      ];
      runs = [];
      for (let i = 0; i < 12; i++) {
        const run = await insertRun(t, {
          stage: 'RL',
          status: 'RUNNING',
          inputCheckpoint: ckpts[i % 2],
        });
        // Inserted out of seq order: events must come back ordered by seq.
        await insertRunEvents(
          t,
          run,
          [{ seq: 3 }, { seq: 1 }, { seq: 4 }, { seq: 2 }].map((e) => ({
            ...e,
            payload: { run: i, seq: e.seq },
          })),
        );
        runs.push(run);
      }
      await importSamples(
        t,
        ds.id,
        Array.from({ length: 12 }, (_, i) => ({
          externalId: `c${i}`,
          problem: `critique problem ${i}`,
        })),
      );
      const refs = await sampleRefs(t, ds);
      await importTraces(
        t,
        ds.id,
        Array.from({ length: 12 }, (_, i) => ({
          sampleExternalId: `c${i}`,
          externalId: 'failed',
          kind: 'ROLLOUT' as const,
          text: `wrong ${i}`,
          correct: false,
        })),
      );
      for (let i = 0; i < 12; i++) {
        const sample = refs.get(`c${i}`)!;
        const failed = (await traceRefs(t, sample)).get('failed')!;
        await insertCritique(t, { sample, failedTrace: failed, run: runs[i], diagnosis: `d${i}` });
      }
      await gqlOk(t, '{ runs(first: 1) { nodes { id } } }'); // warm-up
    });

    const RUNS = `query($first: Int!) { runs(first: $first) { nodes { id events(afterSeq: 1, first: 2) { seq payload run { id } } inputCheckpoint { name } } } }`;

    it('reads run.events and run.inputCheckpoint for many runs in a fixed number of statements', async () => {
      const few = await statements(RUNS, { first: 2 });
      const many = await statements(RUNS, { first: 12 });
      // page, events, event.run, inputCheckpoint
      assert.equal(few.count, 4);
      assert.equal(many.count, 4);
      const nodes = many.data.runs.nodes as {
        id: string;
        events: { seq: number; payload: { run: number }; run: { id: string } }[];
        inputCheckpoint: { name: string };
      }[];
      assert.deepEqual(
        nodes.map((n) => n.id),
        runs.map((r) => r.id),
      );
      nodes.forEach((n, i) => {
        assert.deepEqual(
          n.events.map((e) => e.seq),
          [2, 3],
        );
        for (const e of n.events) {
          assert.equal(e.payload.run, i);
          assert.equal(e.run.id, n.id);
        }
        assert.equal(n.inputCheckpoint.name, `ld-run-in-${i % 2}`);
      });
    });

    it('reads critique.failedTrace, its sample and critique.run for many critiques in a fixed number of statements', async () => {
      const Q = `query($first: Int!) { critiques(first: $first) { nodes { diagnosis sample { externalId } failedTrace { text correct sample { externalId } } run { id } } } }`;
      const few = await statements(Q, { first: 3 });
      const many = await statements(Q, { first: 12 });
      // page, sample, failedTrace, run; failedTrace.sample hits the sample loader's cache,
      // filled by critique.sample.
      assert.equal(few.count, 4);
      assert.equal(many.count, 4);
      const nodes = many.data.critiques.nodes as {
        diagnosis: string;
        sample: { externalId: string };
        failedTrace: { text: string; correct: boolean; sample: { externalId: string } };
        run: { id: string };
      }[];
      assert.equal(nodes.length, 12);
      nodes.forEach((n, i) => {
        assert.equal(n.diagnosis, `d${i}`);
        assert.equal(n.sample.externalId, `c${i}`);
        assert.deepEqual(n.failedTrace, {
          text: `wrong ${i}`,
          correct: false,
          sample: { externalId: `c${i}` },
        });
        assert.equal(n.run.id, runs[i].id);
      });
    });
  });
});
