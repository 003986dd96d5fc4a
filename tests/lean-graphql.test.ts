import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createDataset, importSamples } from './helpers/seed';
import { createApiLogger } from '../src/app/log-redaction';

/**
 * The lean GraphQL path (src/app/lean-graphql.ts) answers a POST /graphql ahead of Express and
 * Apollo. Each request below is sent twice with the same body: once as the lean path takes it
 * (`content-type: application/json`) and once in a form it leaves to the full stack
 * (`application/json;charset=utf-8`, no space, which Express and Apollo read the same way). The
 * two answers must be the same bytes with the same headers; which path answered is read from
 * the server's lean counter.
 */

const LEAN_TYPE = 'application/json';
const FULL_TYPE = 'application/json;charset=utf-8';

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

describe('the lean GraphQL path', () => {
  let t: TestServer;
  const logLines: Record<string, any>[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line));
        done();
      },
    });
    t = await startTestServer({}, createApiLogger('info', sink));
    const dataset = await createDataset(t, 'lean');
    await importSamples(
      t,
      dataset.id,
      Array.from({ length: 30 }, (_, i) => ({
        externalId: `s${i}`,
        problem: `p ${i}`,
        answer: `${i}`,
      })),
    );
  });

  after(async () => {
    await t?.close();
  });

  async function send(
    type: string,
    body: string | Buffer,
    key: string | null,
    extra: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': type,
        'x-request-id': 'lean-test-1',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...extra,
      },
      body,
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** The same request on both paths: their answers, and whether the lean one answered itself. */
  async function both(body: string | Buffer, key: string | null = t.keys.read) {
    const before = t.server.leanAnswered();
    const lean = await send(LEAN_TYPE, body, key);
    const tookLean = t.server.leanAnswered() - before === 1;
    const full = await send(FULL_TYPE, body, key);
    assert.equal(t.server.leanAnswered() - before, tookLean ? 1 : 0, 'the full stack answered');
    assert.equal(lean.status, full.status, `status of ${String(body)}`);
    assert.equal(lean.text, full.text, `body of ${String(body)}`);
    // Every header but the date (fetch lists them by name).
    const headers = (a: Answer) => [...a.headers].filter(([name]) => name !== 'date');
    assert.deepEqual(headers(lean), headers(full), `headers of ${String(body)}`);
    return { lean, full, tookLean };
  }

  const json = (query: string, variables?: object, operationName?: string) =>
    JSON.stringify({ query, variables, operationName });

  it('answers reads itself, byte for byte as the full stack', async () => {
    const page = await both(
      json(
        '{ samples(first: 5) { edges { cursor node { id externalId problem answer } } pageInfo { hasNextPage endCursor } } }',
      ),
    );
    assert.ok(page.tookLean);
    assert.equal(page.lean.status, 200);
    const data = JSON.parse(page.lean.text).data.samples;
    assert.equal(data.edges.length, 5);

    const withVariables = await both(
      json(
        'query Page($first: Int!, $after: String) { samples(first: $first, after: $after) { nodes { externalId } pageInfo { endCursor } } }',
        { first: 3, after: data.pageInfo.endCursor },
      ),
    );
    assert.ok(withVariables.tookLean);
    assert.deepEqual(
      JSON.parse(withVariables.lean.text).data.samples.nodes.map((n: any) => n.externalId),
      ['s5', 's6', 's7'],
    );

    const named = await both(
      json(
        'query A { samples(first: 1) { nodes { id } } } query B { datasets { nodes { name } } }',
        undefined,
        'B',
      ),
    );
    assert.ok(named.tookLean);
    assert.match(named.lean.text, /"name":"lean"/);

    // A second time: from the document cache, same answer.
    assert.ok((await both(json('{ samples(first: 2) { nodes { problem } } }'))).tookLean);
    assert.ok((await both(json('{ samples(first: 2) { nodes { problem } } }'))).tookLean);
  });

  it('leaves every refusal to the full stack, which answers it as always', async () => {
    const refusals: [string, string | Buffer, string | null, number][] = [
      ['no key', json('{ datasets { nodes { id } } }'), null, 401],
      ['an unknown key', json('{ datasets { nodes { id } } }'), 'sw_not_a_key_at_all', 401],
      ['a scope the key lacks', json('{ apiKeys { nodes { id } } }'), t.keys.read, 200],
      [
        'a mutation',
        json('mutation { createDataset(input: { name: "x", split: TRAIN }) { id } }'),
        t.keys.read,
        200,
      ],
      ['a syntax error', json('{ samples(first: 1) { nodes { id } }'), t.keys.read, 400],
      ['an unknown field', json('{ samples { nope } }'), t.keys.read, 400],
      [
        'too deep',
        json(
          `{ samples { nodes { dataset { samples { nodes { dataset { samples { nodes { dataset { samples { nodes { dataset { id } } } } } } } } } } } } }`,
        ),
        t.keys.read,
        400,
      ],
      [
        'too complex',
        json(
          '{ samples(first: 500) { nodes { traces(first: 100) { id text } passRates(first: 100) { id } } } }',
        ),
        t.keys.read,
        400,
      ],
      [
        'a NUL byte in a variable',
        json('query($f: SampleFilter) { samples(filter: $f) { nodes { id } } }', {
          f: { problemContains: 'a\u0000b' },
        }),
        t.keys.read,
        400,
      ],
      [
        'an empty id',
        json('{ samples(filter: { datasetIds: [""] }) { nodes { id } } }'),
        t.keys.read,
        400,
      ],
      [
        'a forged cursor',
        json('{ samples(after: "eyJ4Ijox.abc") { nodes { id } } }'),
        t.keys.read,
        200,
      ],
      [
        'a missing variable',
        json('query($n: Int!) { samples(first: $n) { nodes { id } } }'),
        t.keys.read,
        400,
      ],
      ['a page over the limit', json('{ samples(first: 501) { nodes { id } } }'), t.keys.read, 200],
      [
        'an unknown operation name',
        json('query A { datasets { nodes { id } } }', undefined, 'B'),
        t.keys.read,
        400,
      ],
      [
        'variables as a string',
        JSON.stringify({ query: '{ datasets { nodes { id } } }', variables: '{}' }),
        t.keys.read,
        400,
      ],
      ['a subscription', json('subscription { runUpdated { id } }'), t.keys.read, 400],
      ['no query', JSON.stringify({ variables: {} }), t.keys.read, 400],
      ['not JSON', '{ "query": ', t.keys.read, 400],
      ['a JSON string', '"{ datasets { nodes { id } } }"', t.keys.read, 400],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), t.keys.read, 400],
      [
        'nested variables',
        json('query($f: SampleFilter) { samples(filter: $f) { nodes { id } } }', { f: deep(1000) }),
        t.keys.read,
        400,
      ],
    ];
    for (const [what, body, key, status] of refusals) {
      const { lean, tookLean } = await both(body, key);
      assert.equal(tookLean, false, `${what}: the full stack answers`);
      assert.equal(lean.status, status, `${what}: ${lean.text}`);
      if (status === 200) assert.match(lean.text, /"errors"/, what);
    }
  });

  it('writes the request log line of the full stack, with the key redacted', async () => {
    logLines.length = 0;
    const body = json('{ datasets { nodes { name } } }');
    assert.ok((await both(body)).tookLean);
    const lines = logLines.filter((l) => l.msg === 'request completed');
    assert.equal(lines.length, 2, JSON.stringify(logLines));
    const [lean, full] = lines;
    const text = JSON.stringify(logLines);
    assert.ok(!text.includes(t.keys.read), 'no key in the log');
    assert.equal(lean.req.headers.authorization, 'Bearer [redacted]');
    // Apart from the time, the content type sent and the client's port, the same line.
    const comparable = (l: any) => ({
      ...l,
      time: 0,
      responseTime: 0,
      req: {
        ...l.req,
        remotePort: 0,
        headers: { ...l.req.headers, 'content-type': 0 },
      },
    });
    assert.deepEqual(comparable(lean), comparable(full));
  });

  it('counts its requests in the same metrics', async () => {
    const scrape = async () => (await fetch(`${t.url}/metrics`)).text();
    const series = (text: string, prefix: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(prefix))
          ?.split(' ')[1] ?? 0,
      );
    const http =
      'stagewise_http_request_duration_seconds_count{method="POST",route="/graphql",status="200"}';
    const op =
      'stagewise_graphql_operation_duration_seconds_count{operation="query",name="Counted"}';
    const before = await scrape();
    assert.ok((await both(json('query Counted { datasets { nodes { id } } }'))).tookLean);
    const afterScrape = await scrape();
    assert.equal(series(afterScrape, http) - series(before, http), 2, 'HTTP requests');
    assert.equal(series(afterScrape, op) - series(before, op), 2, 'GraphQL operations');
  });
});

function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}
