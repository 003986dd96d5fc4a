import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
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
import { argumentProbes, type ArgumentProbe } from './helpers/argument-probes';
import { collect, sseClient, wsClient } from './helpers/live';
import { buildAppSchema } from '../src/app/schema';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';

type Scope = 'READ' | 'WRITE' | 'ADMIN' | 'RUNNER';

/** What a refusal must never carry: SQL, PostgreSQL's wording, a stack trace. */
const LEAKS =
  /Key \(|violates|duplicate key|relation "|SELECT |INSERT |invalid input syntax|\n\s+at /;

interface Raw {
  status: number;
  json: any;
}

/** POSTs a body as is (deeply nested variables cannot go through JSON.stringify). */
async function postRaw(t: TestServer, body: string, key: string): Promise<Raw> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) };
}

/** Rows in every table of the test database: a refused request must change none. */
async function tableCounts(t: TestServer): Promise<Record<string, number>> {
  const tables = await t.server.ds.query<{ name: string }[]>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    // api_keys' last_used_at moves on every request; its row count does not.
    const [row] = await t.server.ds.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM "${name}"`,
    );
    counts[name] = Number(row.n);
  }
  return counts;
}

/** `levels` nested lists around 1, as a GraphQL literal or JSON text. */
const nestedLists = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);

/** A JSON object nested `levels` objects deep: {"a":{"a":...{}}}. */
function nestedObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe('hostile GraphQL input', () => {
  let t: TestServer;
  let keys: Record<Scope, string>;
  let probes: ArgumentProbe[];
  let dataset: Ref;
  let run: Ref;

  before(async () => {
    // The RUNNING run below never heartbeats: on a slow machine the suite outlasts the default
    // 30 s timeout, the supervisor fails the run and revokes its RUNNER key mid-test.
    t = await startTestServer({ HEARTBEAT_TIMEOUT_SECONDS: '3600' });
    probes = argumentProbes(await buildAppSchema());
    run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    const runner = await t.server.services.apiKeys.create({
      name: 'test-runner',
      scopes: [ApiKeyScope.RUNNER],
      runId: Number(run.pk),
    });
    keys = { READ: t.keys.read, WRITE: t.keys.write, ADMIN: t.keys.admin, RUNNER: runner.key };
    dataset = await createDataset(t, 'hostile');
    await importSamples(t, dataset.id, [
      { externalId: 's1', problem: '1+1?', answer: '2' },
      { externalId: 's2', problem: '2+2?', answer: '4' },
    ]);
    await importTraces(t, dataset.id, [
      { sampleExternalId: 's1', kind: 'TEACHER', text: 'two', externalId: 't1' },
      { sampleExternalId: 's2', kind: 'TEACHER', text: 'four', externalId: 't2' },
    ]);
    const s1 = (await sampleRefs(t, dataset)).get('s1')!;
    await linkTrace(t, (await traceRefs(t, s1)).get('t1')!, { run });
    await createCheckpoint(t, { name: 'hostile-ckpt' });
  });
  after(() => t.close());

  /** A refusal's shape: 400, BAD_USER_INPUT, naming `field`, nothing leaked. */
  function refusal(res: { status: number; errors?: any[] }, field?: string): string | undefined {
    const error = res.errors?.[0];
    const problems: string[] = [];
    if (res.status !== 400) problems.push(`status ${res.status}`);
    if (error?.extensions?.code !== 'BAD_USER_INPUT')
      problems.push(`code ${error?.extensions?.code}`);
    if (field !== undefined && error?.extensions?.field !== field) {
      problems.push(`field ${error?.extensions?.field}`);
    }
    if (LEAKS.test(error?.message ?? '')) problems.push(`message ${error?.message}`);
    return problems.length ? `${problems.join(', ')}: ${JSON.stringify(res.errors)}` : undefined;
  }

  it('refuses NUL, a lone surrogate or an empty id in every string argument of every root field, naming its path', async () => {
    // Sanity: the generator reaches filters, inputs, nested lists and JSON scalars.
    assert.ok(probes.length > 150, `only ${probes.length} probes`);
    for (const path of [
      'traces.filter.runId',
      'traces.filter.producer',
      'createDataset.input.name',
      'importSamples.input.samples.0.metadata.k',
      'importSamples.input.samples.0.tags.0',
      'createCheckpoint.input.name',
    ]) {
      assert.ok(
        probes.some((p) => p.path === path),
        `no probe for ${path}`,
      );
    }
    const before = await tableCounts(t);
    const failures: string[] = [];
    for (const probe of probes) {
      const res = await t.gql(probe.query, probe.variables);
      const problem = refusal(res, probe.path);
      if (problem) failures.push(`${probe.path} (${probe.poison}): ${problem}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await tableCounts(t), before);
  });

  it('refuses the same values written as literal arguments', async () => {
    const failures: string[] = [];
    for (const probe of probes) {
      const res = await t.gql(probe.literalQuery);
      // graphql-js refuses the escape \uD800 in a literal itself (a parse error, 400 too).
      const problem = refusal(res, probe.poison === 'surrogate' ? undefined : probe.path);
      if (problem) failures.push(`${probe.path} (${probe.poison}): ${problem}`);
    }
    assert.deepEqual(failures, []);
  });

  it('refuses bad text with every key scope, before anything is written', async () => {
    const picked = probes.filter(
      (p) =>
        (p.path === 'createDataset.input.name' && p.poison === 'nul') ||
        (p.path === 'traces.filter.producer' && p.poison === 'surrogate') ||
        (p.path === 'importSamples.input.samples.0.metadata.k' && p.poison === 'nul') ||
        (p.path === 'traces.filter.runId' && p.poison === 'emptyId'),
    );
    assert.equal(picked.length, 4);
    const before = await tableCounts(t);
    for (const scope of Object.keys(keys) as Scope[]) {
      for (const probe of picked) {
        const res = await t.gql(probe.query, probe.variables, keys[scope]);
        assert.equal(refusal(res, probe.path), undefined, `${scope} ${probe.path}`);
      }
    }
    assert.deepEqual(await tableCounts(t), before);
  });

  it('refuses an empty runId filter instead of returning every trace', async () => {
    const all = await gqlOk(t, `{ traces { totalCount } }`);
    assert.equal(all.traces.totalCount, 2);
    const own = await gqlOk(t, `query($r: ID) { traces(filter: { runId: $r }) { totalCount } }`, {
      r: run.id,
    });
    assert.equal(own.traces.totalCount, 1);
    for (const filter of ['{ runId: "" }', '{ sampleId: "" }']) {
      const res = await t.gql(`{ traces(filter: ${filter}) { totalCount } }`);
      assert.equal(refusal(res), undefined, filter);
      assert.match(res.errors![0].message, /cannot be empty/);
    }
  });

  it('refuses NUL in a key of a JSON value, inside a fragment, in a variable default and in a variable inside a JSON literal', async () => {
    const key = await t.gql(
      `mutation($m: JSONObject) { createCheckpoint(input: { name: "k", baseModel: "m", uri: "file:///k", metadata: $m }) { id } }`,
      { m: { ok: { 'bad\u0000key': 1 } } },
    );
    assert.equal(refusal(key, 'createCheckpoint.input.metadata.ok (a key)'), undefined);
    const fragment = await t.gql(
      `query($p: String) { ...F } fragment F on Query { traces(filter: { producer: $p }) { totalCount } }`,
      { p: 'x\u0000' },
    );
    assert.equal(refusal(fragment, 'traces.filter.producer'), undefined);
    const byDefault = await t.gql(
      `query($p: String = "x\\u0000") { traces(filter: { producer: $p }) { totalCount } }`,
    );
    assert.equal(refusal(byDefault, 'traces.filter.producer'), undefined);
    const insideJsonLiteral = await t.gql(
      `mutation($v: String) { createCheckpoint(input: { name: "j", baseModel: "m", uri: "file:///j", metadata: { a: [$v] } }) { id } }`,
      { v: 'x\u0000' },
    );
    assert.equal(refusal(insideJsonLiteral, 'createCheckpoint.input.metadata.a.0'), undefined);
    const none = await gqlOk(t, `{ checkpoints(filter: { baseModel: "m" }) { totalCount } }`);
    assert.equal(none.checkpoints.totalCount, 0);
  });

  it('accepts JSON nested JSON_MAX_DEPTH (64) levels and refuses one level more, naming where', async () => {
    const withName = `mutation($n: String!, $m: JSONObject) {
      createCheckpoint(input: { name: $n, baseModel: "m", uri: "file:///d", metadata: $m }) { id } }`;
    const ok = await t.gql(withName, { n: 'deep-64', m: nestedObject(64) });
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    const deeper = await t.gql(withName, { n: 'deep-65', m: nestedObject(65) });
    const field = `createCheckpoint.input.metadata${'.a'.repeat(64)}`;
    assert.equal(refusal(deeper, field), undefined);
    assert.match(deeper.errors![0].message, /limit of 64 levels/);
    const stored = await gqlOk(t, `{ checkpoints(filter: { baseModel: "m" }) { totalCount } }`);
    assert.equal(stored.checkpoints.totalCount, 1);
  });

  it('refuses a query or variables nested deeper than GRAPHQL_MAX_NESTING before parsing, and stays up', async () => {
    let selection = '{ id }';
    for (let i = 0; i < 3000; i++) selection = `{ parent ${selection} }`;
    const deepVariables = `{"n":${nestedLists(100_000)}}`;
    const cases: [string, string, string][] = [
      [
        'lists in a literal',
        JSON.stringify({ query: `{ datasets(first: ${nestedLists(3000)}) { totalCount } }` }),
        'query',
      ],
      ['a selection', JSON.stringify({ query: `{ checkpoints { nodes ${selection} } }` }), 'query'],
      [
        'lists in variables',
        `{"query":"query($n: Int) { datasets(first: $n) { totalCount } }","variables":${deepVariables}}`,
        'variables',
      ],
      [
        'a JSON variable',
        JSON.stringify({
          query: `mutation($m: JSONObject) { createCheckpoint(input: { name: "v", baseModel: "m", uri: "file:///v", metadata: $m }) { id } }`,
          variables: { m: nestedObject(200) },
        }),
        'variables',
      ],
    ];
    for (const [what, body, field] of cases) {
      const res = await postRaw(t, body, t.keys.admin);
      assert.equal(
        refusal({ status: res.status, errors: res.json.errors }, field),
        undefined,
        what,
      );
      assert.match(res.json.errors[0].message, /GRAPHQL_MAX_NESTING/, what);
      assert.equal(res.json.errors[0].extensions.maxNesting, 128, what);
    }
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('refuses a too deeply nested document for every key scope, and over GET as well', async () => {
    const body = JSON.stringify({
      query: `{ datasets(first: ${nestedLists(500)}) { totalCount } }`,
    });
    for (const scope of Object.keys(keys) as Scope[]) {
      const res = await postRaw(t, body, keys[scope]);
      assert.equal(
        refusal({ status: res.status, errors: res.json.errors }, 'query'),
        undefined,
        scope,
      );
    }
    const url = new URL(`${t.url}/graphql`);
    url.searchParams.set('query', `{ datasets(first: ${nestedLists(500)}) { totalCount } }`);
    const get = await fetch(url, {
      headers: { authorization: `Bearer ${t.keys.read}`, 'apollo-require-preflight': 'true' },
    });
    const json = (await get.json()) as { errors: any[] };
    assert.equal(refusal({ status: get.status, errors: json.errors }, 'query'), undefined, 'GET');
    url.searchParams.set('query', 'query($n: Int) { datasets(first: $n) { totalCount } }');
    url.searchParams.set('variables', `{"n":${nestedLists(500)}}`);
    const getVariables = await fetch(url, {
      headers: { authorization: `Bearer ${t.keys.read}`, 'apollo-require-preflight': 'true' },
    });
    const json2 = (await getVariables.json()) as { errors: any[] };
    assert.equal(
      refusal({ status: getVariables.status, errors: json2.errors }, 'variables'),
      undefined,
      'GET variables',
    );
  });

  it('counts only brackets that nest: none in strings, block strings or comments', async () => {
    // 180 openers, more than GRAPHQL_MAX_NESTING, within the producer filter's 256 characters.
    const brackets = '[{('.repeat(60);
    const res = await t.gql(
      `# ${brackets}
      query { traces(filter: { producer: "${brackets}" }) { totalCount }
        d: traces(filter: { producer: """${brackets} \\""" """ }) { totalCount } }`,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data.traces.totalCount, 0);
  });

  it('answers a subscription sent as a plain POST with 400 and where to send it, for every scope', async () => {
    for (const scope of Object.keys(keys) as Scope[]) {
      const res = await t.gql(
        `subscription($r: ID!) { runEvents(runId: $r) { seq } }`,
        { r: run.id },
        keys[scope],
      );
      assert.equal(refusal(res), undefined, scope);
      assert.match(res.errors![0].message, /graphql-ws/, scope);
    }
  });

  it('guards subscriptions over graphql-sse and graphql-ws the same way', async () => {
    const sse = sseClient(t.url, t.keys.read);
    const ws = wsClient(t.url, t.keys.read);
    try {
      for (const [name, client] of [
        ['sse', sse],
        ['ws', ws],
      ] as const) {
        const nul = collect(
          client,
          'runEvents',
          `subscription($r: ID!) { runEvents(runId: $r) { seq } }`,
          {
            r: 'a\u0000b',
          },
        );
        await nul.done.catch(() => undefined);
        assert.equal(nul.errors[0]?.extensions?.code, 'BAD_USER_INPUT', name);
        assert.equal(nul.errors[0]?.extensions?.field, 'runEvents.runId', name);

        const deep = collect(
          client,
          'runEvents',
          `subscription { runEvents(runId: "x", afterSeq: ${nestedLists(3000)}) { seq } }`,
          {},
        );
        await deep.done.catch(() => undefined);
        assert.equal(deep.errors[0]?.extensions?.code, 'BAD_USER_INPUT', name);
        assert.match(deep.errors[0]?.message ?? '', /GRAPHQL_MAX_NESTING/, name);
      }
    } finally {
      sse.dispose();
      await ws.dispose();
    }
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });
});
