import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getNamedType, isLeafType, isObjectType, type GraphQLSchema } from 'graphql';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  gqlOk,
  importSamples,
  importTraces,
  insertRun,
  linkTrace,
  sampleRefs,
  traceRefs,
  type Ref,
} from './helpers/seed';
import { buildAppSchema } from '../src/app/schema';

/**
 * Reads for a GraphQL selection leave out the columns of unselected fields (RowReader.projection,
 * selectedFields). Whatever a query selects, each field must answer what a read of every column
 * answers: every field of Sample and Trace, selected alone and all together, through root
 * pages, nested pages and node(id), in fragments, inline fragments and under aliases.
 */

/** Every field of a type without arguments: leaves as they are, objects by their id. */
function fieldsOf(schema: GraphQLSchema, type: string): Map<string, string> {
  const t = schema.getType(type);
  assert.ok(isObjectType(t), `${type} is an object type`);
  const out = new Map<string, string>();
  for (const [name, field] of Object.entries(t.getFields())) {
    if (field.args.length) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) out.set(name, name);
    else if (isObjectType(named) && named.getFields().id) out.set(name, `${name} { id }`);
  }
  return out;
}

describe('reads of the selected columns only', () => {
  let t: TestServer;
  let dataset: Ref;
  let sampleFields: Map<string, string>;
  let traceFields: Map<string, string>;
  let sampleIds: string[];
  let traceIds: string[];
  /** Each sample / trace as a read of every field answers it, by id. */
  let fullSamples: Map<string, Record<string, unknown>>;
  let fullTraces: Map<string, Record<string, unknown>>;

  const all = (fields: Map<string, string>) => [...fields.values()].join(' ');
  const byId = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [r.id as string, r]));
  /** What `full` answers for the fields of `row` (a row read with some of them). */
  const expected = (full: Map<string, Record<string, unknown>>, id: string, row: object) =>
    Object.fromEntries(Object.keys(row).map((k) => [k, full.get(id)![k]]));

  before(async () => {
    t = await startTestServer();
    const schema = await buildAppSchema();
    sampleFields = fieldsOf(schema, 'Sample');
    traceFields = fieldsOf(schema, 'Trace');
    dataset = await createDataset(t, 'read-columns');
    await importSamples(
      t,
      dataset.id,
      [0, 1, 2].map((i) => ({
        externalId: `s${i}`,
        problem: `What is ${i} + 1?`,
        answer: String(i + 1),
        domain: 'arith',
        tags: ['a', `t${i}`],
        metadata: { source: 'test', n: i },
      })),
    );
    await importTraces(
      t,
      dataset.id,
      [0, 1, 2].flatMap((i) =>
        [0, 1].map((j) => ({
          sampleExternalId: `s${i}`,
          externalId: `s${i}-t${j}`,
          kind: j ? ('ROLLOUT' as const) : ('TEACHER' as const),
          text: `${i} + 1 = ${i + 1}, try ${j}`,
          correct: j === 0,
          producer: 'model-a',
          finalAnswer: String(i + 1),
          reward: 0.5 + j,
          tokenCount: 10 + j,
          graderVersion: 'g1',
          metadata: { temperature: 0.7, j },
        })),
      ),
    );
    // What imports do not set: every field has a value, so a left-out column cannot pass as null.
    await t.server.ds.query('UPDATE traces SET student_nll = 1.25');
    const run = await insertRun(t, { stage: 'PROBE' });
    const samples = await sampleRefs(t, dataset);
    sampleIds = [...samples.values()].map((r) => r.id);
    traceIds = [];
    for (const sample of samples.values()) {
      const [first, second] = [...(await traceRefs(t, sample)).values()];
      await linkTrace(t, second, { run, parent: first });
      await linkTrace(t, first, { run, parent: second });
      traceIds.push(first.id, second.id);
    }

    const data = await gqlOk(
      t,
      `query($f: SampleFilter) { samples(filter: $f) { nodes { ${all(sampleFields)}
        traces(first: 10) { ${all(traceFields)} } } } }`,
      { f: { datasetIds: [dataset.id] } },
    );
    const samplesRead = data.samples.nodes as Record<string, unknown>[];
    const tracesRead = samplesRead.flatMap((s) => s.traces as Record<string, unknown>[]);
    for (const s of samplesRead) delete s.traces;
    fullSamples = byId(samplesRead);
    fullTraces = byId(tracesRead);
    assert.deepEqual([...fullSamples.keys()], sampleIds);
    assert.deepEqual([...fullTraces.keys()].sort(), [...traceIds].sort());
    for (const row of [...fullSamples.values(), ...fullTraces.values()]) {
      for (const [field, value] of Object.entries(row))
        assert.notEqual(value, null, `${field} has a value in the full read`);
    }
  });
  after(() => t.close());

  it('covers the fields that map to columns, and ones resolved from foreign keys', () => {
    for (const f of ['problem', 'answer', 'metadata', 'tags', 'createdAt', 'dataset'])
      assert.ok(sampleFields.has(f), f);
    for (const f of ['text', 'finalAnswer', 'metadata', 'studentNll', 'sample', 'parent', 'run'])
      assert.ok(traceFields.has(f), f);
  });

  /** Each field alone, then all together. */
  const selections = (fields: Map<string, string>) => [
    ...[...fields.values()].map((f) => [f]),
    [...fields.values()],
  ];

  it('answers each Sample field on a root page as the full read does', async () => {
    for (const sel of selections(sampleFields)) {
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f) { nodes { id ${sel.join(' ')} }
          edges { node { ${sel.join(' ')} id } } } }`,
        { f: { datasetIds: [dataset.id] } },
      );
      for (const n of data.samples.nodes)
        assert.deepEqual(n, expected(fullSamples, n.id, n), sel[0]);
      for (const { node } of data.samples.edges)
        assert.deepEqual(node, expected(fullSamples, node.id, node), sel[0]);
    }
  });

  it('answers each Trace field on a root page and on nested pages as the full read does', async () => {
    for (const sel of selections(traceFields)) {
      const data = await gqlOk(
        t,
        `query($s: ID!, $f: SampleFilter) {
          traces(filter: { sampleId: $s }) { edges { node { id ${sel.join(' ')} } } }
          samples(filter: $f) { nodes { id traces(first: 10) { id ${sel.join(' ')} } } } }`,
        { s: sampleIds[1], f: { datasetIds: [dataset.id] } },
      );
      assert.equal(data.traces.edges.length, 2);
      for (const { node } of data.traces.edges)
        assert.deepEqual(node, expected(fullTraces, node.id, node), sel[0]);
      const nested = data.samples.nodes.flatMap((s: { traces: unknown[] }) => s.traces);
      assert.equal(nested.length, traceIds.length);
      for (const n of nested) assert.deepEqual(n, expected(fullTraces, n.id, n), sel[0]);
    }
  });

  it('answers each field through node(id) as the full read does', async () => {
    const cases: [string, string, Map<string, string>, Map<string, Record<string, unknown>>][] = [
      ['Sample', sampleIds[0], sampleFields, fullSamples],
      ['Trace', traceIds[3], traceFields, fullTraces],
    ];
    for (const [type, id, fields, full] of cases) {
      for (const sel of selections(fields)) {
        const data = await gqlOk(
          t,
          `query($id: ID!) { node(id: $id) { id ... on ${type} { ${sel.join(' ')} } } }`,
          {
            id,
          },
        );
        assert.deepEqual(data.node, expected(full, id, data.node), `${type} ${sel[0]}`);
      }
    }
  });

  it('counts fields in named fragments, inline fragments and under aliases', async () => {
    const data = await gqlOk(
      t,
      `query($f: SampleFilter, $id: ID!) {
        samples(filter: $f) { ... on SampleConnection { edges { ...Edge } } }
        one: node(id: $id) { ...Sample ... on Node { id } ... on Trace { text } }
      }
      fragment Edge on SampleEdge { node { id p: problem traces(first: 1) { ...Trace } } }
      fragment Trace on Trace { id m: metadata }
      fragment Sample on Sample { a: answer ... { tags } }`,
      { f: { datasetIds: [dataset.id] }, id: sampleIds[2] },
    );
    for (const { node } of data.samples.edges) {
      assert.equal(node.p, fullSamples.get(node.id)!.problem);
      const [trace] = node.traces;
      assert.deepEqual(trace.m, fullTraces.get(trace.id)!.metadata);
    }
    assert.deepEqual(data.one, {
      id: sampleIds[2],
      a: fullSamples.get(sampleIds[2])!.answer,
      tags: fullSamples.get(sampleIds[2])!.tags,
    });
  });

  it('answers the same on graphql-js (a document graphql-jit does not run)', async () => {
    // `$first: Int! = 10` sends the document to graphql-js's execute (CompiledExecutor).
    const data = await gqlOk(
      t,
      `query($f: SampleFilter, $first: Int! = 10) { samples(filter: $f, first: $first) {
        nodes { id problem traces(first: $first) { id finalAnswer studentNll } } } }`,
      { f: { datasetIds: [dataset.id] } },
    );
    for (const s of data.samples.nodes) {
      assert.equal(s.problem, fullSamples.get(s.id)!.problem);
      for (const tr of s.traces) assert.deepEqual(tr, expected(fullTraces, tr.id, tr));
    }
  });

  it('reads only the selected columns, and a statement per column set', async () => {
    const texts: string[] = [];
    t.counter.onQuery = (q) => texts.push(q);
    try {
      await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f) { nodes { id traces(first: 10) { id text } } } }`,
        { f: { datasetIds: [dataset.id] } },
      );
    } finally {
      t.counter.onQuery = undefined;
    }
    const page = texts.find((q) => /FROM "samples"/.test(q));
    const nested = texts.find((q) => /FROM "traces"/.test(q));
    assert.ok(page && nested, texts.join('\n'));
    assert.doesNotMatch(page, /"problem"|"metadata"/);
    assert.match(nested, /"text"/);
    assert.doesNotMatch(nested.split(' FROM ')[0], /"metadata"|"final_answer"/);
    assert.match(nested.split(' FROM ')[0], /"sample_id"/, 'the key column is read');
  });
});
