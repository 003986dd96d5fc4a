import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  gqlOk,
  importSamples,
  importTraces,
  pkOf,
  toGlobalId,
} from './helpers/seed';

/**
 * graphql-jit compiles Node ids as leaves of the row's key (GlobalIdLeaves); graphql-js runs the
 * nodeId getter. A document with a required variable's default runs on graphql-js (see
 * CompiledExecutor), so the same selection is read both ways.
 */
const PAGE = `samples(first: $n) { nodes { id traces(first: 3) { id } } edges { node { id } } }`;
const JIT = `query($n: Int = 4) { ${PAGE} }`;
const GRAPHQL_JS = `query($n: Int! = 4) { ${PAGE} }`;

interface Page {
  samples: { nodes: { id: string; traces: { id: string }[] }[]; edges: { node: { id: string } }[] };
}

describe('global ids compiled as leaves', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    const dataset = await createDataset(t, 'ids');
    const samples = Array.from({ length: 4 }, (_, i) => ({
      externalId: `s${i}`,
      problem: `p${i}`,
      answer: String(i),
    }));
    await importSamples(t, dataset.id, samples);
    await importTraces(
      t,
      dataset.id,
      samples.flatMap((s) => [
        { sampleExternalId: s.externalId, kind: 'TEACHER' as const, text: `a ${s.externalId}` },
        { sampleExternalId: s.externalId, kind: 'ROLLOUT' as const, text: `b ${s.externalId}` },
      ]),
    );
  });
  after(() => t.close());

  it('are the ids graphql-js gives, on lists, edges and node(id)', async () => {
    const jit = await gqlOk<Page>(t, JIT);
    const js = await gqlOk<Page>(t, GRAPHQL_JS);
    assert.equal(jit.samples.nodes.length, 4);
    assert.equal(jit.samples.nodes[0].traces.length, 2);
    assert.deepEqual(jit, js);
    for (const s of jit.samples.nodes) {
      assert.equal(s.id, toGlobalId('Sample', pkOf(s.id)));
      for (const tr of s.traces) assert.equal(tr.id, toGlobalId('Trace', pkOf(tr.id)));
    }

    const sample = jit.samples.nodes[0];
    const trace = sample.traces[1];
    const byNode = `node(id: $id) { id ... on Sample { traces(first: $n) { id } } }`;
    for (const id of [sample.id, trace.id]) {
      const viaJit = await gqlOk(t, `query($id: ID!, $n: Int = 2) { ${byNode} }`, { id });
      const viaJs = await gqlOk(t, `query($id: ID!, $n: Int! = 2) { ${byNode} }`, { id });
      assert.deepEqual(viaJit, viaJs);
      assert.equal((viaJit as { node: { id: string } }).node.id, id);
    }
  });
});
