import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createDataset, gqlOk, importSamples, importTraces } from './helpers/seed';

const SAMPLES = 1000;
const TRACES_PER_SAMPLE = 10;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const flatten = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(flatten)];

/**
 * The nested page of the read benchmark's big query (100 samples with their first 10 traces):
 * the statement the server sends for the traces, run again under EXPLAIN with the same
 * parameters, must walk the (sample_id, id) index of `traces` per parent, never scan the table.
 */
describe('a nested traces page uses the traces(sample_id, id) index', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    const ds = await createDataset(t, 'plan');
    const ids = Array.from({ length: SAMPLES }, (_, i) => `s${i}`);
    // One call: 1,000 is importSamples' batch limit; the traces below take ten.
    await importSamples(
      t,
      ds.id,
      ids.map((externalId) => ({ externalId, problem: `p ${externalId}` })),
    );
    const traces = ids.flatMap((s) =>
      Array.from({ length: TRACES_PER_SAMPLE }, (_, j) => ({
        sampleExternalId: s,
        externalId: `${s}-t${j}`,
        kind: 'ROLLOUT' as const,
        text: `trace ${j} of ${s}`,
      })),
    );
    for (let k = 0; k < traces.length; k += 1000) {
      await importTraces(t, ds.id, traces.slice(k, k + 1000));
    }
    // Statistics as autovacuum would have them on a table of this size.
    await t.server.ds.query('ANALYZE traces');
  });
  after(() => t?.close());

  it('plans an index scan on ix_traces_sample and no sequential scan of traces', async () => {
    const seen: { query: string; parameters: unknown[] }[] = [];
    t.counter.onQuery = (query, parameters) => seen.push({ query, parameters: parameters ?? [] });
    try {
      await gqlOk(
        t,
        `{ samples(first: 100) { nodes { id traces(first: 10) { id kind correct text } } } }`,
      );
    } finally {
      t.counter.onQuery = undefined;
    }
    const nested = seen.filter((s) => /FROM "traces"/.test(s.query));
    assert.equal(nested.length, 1, seen.map((s) => s.query).join('\n'));
    const explain = async (setting?: string) => {
      const qr = t.server.ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      try {
        if (setting) await qr.query(`SET LOCAL ${setting}`);
        const [{ 'QUERY PLAN': plans }] = (await qr.query(
          `EXPLAIN (FORMAT JSON) ${nested[0].query}`,
          nested[0].parameters,
        )) as { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
        return flatten(plans[0].Plan).filter((n) => n['Relation Name'] === 'traces');
      } finally {
        await qr.rollbackTransaction();
        await qr.release();
      }
    };
    const onTraces = await explain();
    assert.ok(onTraces.length > 0, 'the plan reads no traces');
    for (const n of onTraces) {
      assert.match(n['Node Type'], /^Index( Only)? Scan$/, JSON.stringify(onTraces));
      assert.equal(n['Index Name'], 'ix_traces_sample');
    }
    // The check reads the plan: with index scans off, the same statement scans the table.
    const forced = await explain('enable_indexscan = off');
    assert.ok(
      forced.some((n) => n['Node Type'] !== 'Index Scan' && n['Node Type'] !== 'Index Only Scan'),
      JSON.stringify(forced),
    );
  });
});
