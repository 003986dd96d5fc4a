import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES } from '../src/common/errors';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { startTestServer, type GqlResult, type TestServer } from './helpers/test-server';

/** Every error body any test here received, checked at the end against the closed set. */
const seenCodes: { where: string; code: unknown }[] = [];

function record(where: string, body: unknown): void {
  const b = body as { errors?: { extensions?: { code?: unknown } }[]; error?: { code?: unknown } };
  for (const e of b.errors ?? []) seenCodes.push({ where, code: e.extensions?.code });
  if (b.error) seenCodes.push({ where, code: b.error.code });
}

async function post(
  t: TestServer,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${t.keys.admin}`,
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  record(`POST ${body.slice(0, 60)}`, json);
  return { status: res.status, text, json, headers: res.headers };
}

function codeOf(res: GqlResult<unknown> | { errors?: GqlResult<unknown>['errors'] }) {
  return res.errors?.[0]?.extensions.code;
}

/** A selection nested `levels` checkpoints deep through Checkpoint.parent. */
function nestedParents(levels: number): string {
  let sel = '{ id }';
  for (let i = 0; i < levels; i++) sel = `{ id parent ${sel} }`;
  return sel;
}

describe('limits and errors', () => {
  let t: TestServer;
  const gql = async (query: string, vars?: Record<string, unknown>, key?: string | null) => {
    const res = await t.gql(query, vars, key);
    record(query.slice(0, 60), res);
    return res;
  };

  before(async () => {
    t = await startTestServer();
    // Warm up: the key's lookup (cached from then on) and its lastUsedAt write happen now.
    await gql(`{ datasets { totalCount } }`);
  });
  after(() => t.close());

  /** SQL statements sent while `run` runs (the warmed-up key costs none). */
  async function statementsOf(run: () => Promise<unknown>): Promise<number> {
    const before = t.counter.count;
    await run();
    return t.counter.count - before;
  }

  it('refuses a query deeper than MAX_QUERY_DEPTH before anything runs', async () => {
    // What a request refused at parse time costs: nothing (its key is cached).
    const parseOnly = await statementsOf(() => gql(`{ datasets {`));
    const query = `mutation { createCheckpoint(input: { name: "too-deep", baseModel: "m", uri: "file:///w" }) ${nestedParents(12)} }`;
    let res: GqlResult<any> | undefined;
    const cost = await statementsOf(async () => {
      res = await gql(query);
    });
    assert.equal(codeOf(res!), 'BAD_USER_INPUT', JSON.stringify(res));
    assert.match(res!.errors![0].message, /depth/i);
    assert.equal(res!.data, undefined);
    assert.equal(cost, parseOnly, 'no resolver ran: nothing hit the database');
    const executed = await statementsOf(() => gql(`{ datasets { totalCount } }`));
    assert.ok(executed > parseOnly, 'the counter does see resolvers');
    const rows: unknown[] = await t.server.ds.query(
      `SELECT 1 FROM checkpoints WHERE name = 'too-deep'`,
    );
    assert.equal(rows.length, 0, 'the mutation did not write');
  });

  it('accepts a query at the depth limit', async () => {
    // createCheckpoint(1) + 8 parents + id = depth 10.
    const ok = await gql(
      `mutation { createCheckpoint(input: { name: "deep-enough", baseModel: "m", uri: "file:///w" }) ${nestedParents(8)} }`,
    );
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    assert.equal(ok.data.createCheckpoint.parent, null);
  });

  it('refuses a too-complex query before anything runs', async () => {
    const parseOnly = await statementsOf(() => gql(`{ samples {`));
    let res: GqlResult<any> | undefined;
    const cost = await statementsOf(async () => {
      res = await gql(
        `{ samples(first: 500) { nodes { traces(first: 100) { sample { traces(first: 100) { id } } } } } }`,
      );
    });
    assert.equal(codeOf(res!), 'BAD_USER_INPUT', JSON.stringify(res));
    assert.match(res!.errors![0].message, /too complex/);
    assert.ok((res!.errors![0].extensions.complexity as number) > 50_000);
    assert.equal(res!.errors![0].extensions.maxComplexity, 50_000);
    assert.equal(res!.status, 400);
    assert.equal(cost, parseOnly, 'no resolver ran');
  });

  it('prices variables too: a large page size sent as a variable is refused', async () => {
    const res = await gql(
      `query($n: Int!) { samples(first: $n) { nodes { traces(first: 100) { sample { traces(first: 100) { id } } } } } }`,
      { n: 500 },
    );
    assert.equal(codeOf(res), 'BAD_USER_INPUT');
    assert.match(res.errors![0].message, /too complex/);
  });

  it('refuses too many aliases', async () => {
    const fields = Array.from({ length: 31 }, (_, i) => `a${i}: datasets(first: 1) { totalCount }`);
    const parseOnly = await statementsOf(() => gql(`{ datasets {`));
    let res: GqlResult<any> | undefined;
    const cost = await statementsOf(async () => {
      res = await gql(`{ ${fields.join(' ')} }`);
    });
    assert.equal(codeOf(res!), 'BAD_USER_INPUT', JSON.stringify(res));
    assert.match(res!.errors![0].message, /alias/i);
    assert.equal(cost, parseOnly);
    const fine = await gql(`{ ${fields.slice(0, 30).join(' ')} }`);
    assert.equal(fine.errors, undefined);
  });

  it('refuses invalid JSON as 400 BAD_USER_INPUT', async () => {
    const res = await post(t, '{"query": "{ datasets { totalCount } }"');
    assert.equal(res.status, 400);
    assert.equal(res.json.errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.match(res.json.errors[0].message, /JSON/);
  });

  it('gives every malformed request a coded error', async () => {
    const cases: [string, string][] = [
      ['syntax', JSON.stringify({ query: '{ datasets { ' })],
      ['unknown field', JSON.stringify({ query: '{ nope }' })],
      ['no query', JSON.stringify({})],
      ['query not a string', JSON.stringify({ query: 42 })],
      [
        'missing variable',
        JSON.stringify({ query: 'query($n: Int!) { datasets(first: $n) { totalCount } }' }),
      ],
      [
        'wrong variable type',
        JSON.stringify({
          query: 'query($n: Int!) { datasets(first: $n) { totalCount } }',
          variables: { n: 'ten' },
        }),
      ],
      [
        'unknown operation name',
        JSON.stringify({ query: 'query A { datasets { totalCount } }', operationName: 'B' }),
      ],
      [
        'two operations, no name',
        JSON.stringify({
          query: 'query A { datasets { totalCount } } query B { runs { totalCount } }',
        }),
      ],
      [
        'too many tokens',
        JSON.stringify({ query: `{ datasets { ${'totalCount '.repeat(10_001)}} }` }),
      ],
      [
        'too many directives',
        JSON.stringify({ query: `{ __typename ${'@skip(if: false) '.repeat(51)}}` }),
      ],
      ['array body', JSON.stringify([{ query: '{ datasets { totalCount } }' }])],
    ];
    for (const [name, body] of cases) {
      const res = await post(t, body);
      assert.ok(res.json, `${name}: a JSON body (${res.status}: ${res.text})`);
      assert.ok(res.json.errors?.length, `${name}: ${res.text}`);
      assert.equal(res.json.errors[0].extensions.code, 'BAD_USER_INPUT', `${name}: ${res.text}`);
      assert.ok(res.status >= 400 && res.status < 500, `${name}: status ${res.status}`);
      assert.equal(res.json.data, undefined, `${name}: refused before execution`);
    }
  });

  it('gives wrong arguments found while executing a coded error, beside null data', async () => {
    const cases: [string, string, string][] = [
      ['page too large', '{ datasets(first: 1000) { totalCount } }', 'BAD_USER_INPUT'],
      ['negative page', '{ datasets(first: -1) { totalCount } }', 'BAD_USER_INPUT'],
      ['bad cursor', '{ datasets(after: "nope") { totalCount } }', 'BAD_USER_INPUT'],
      ['bad id', '{ node(id: "nope") { id } }', 'BAD_USER_INPUT'],
      [
        'id of an unknown type',
        `{ node(id: "${Buffer.from('Nope:1').toString('base64url')}") { id } }`,
        'NOT_FOUND',
      ],
    ];
    for (const [name, query, code] of cases) {
      const res = await gql(query);
      assert.equal(codeOf(res), code, `${name}: ${JSON.stringify(res)}`);
      assert.equal(res.data, null, name);
    }
  });

  it('answers a GET without a preflight header with a coded error, never executing a mutation', async () => {
    const url = `${t.url}/graphql?query=${encodeURIComponent('mutation { createDataset(input: { name: "via-get" }) { id } }')}`;
    for (const headers of <Record<string, string>[]>[
      { authorization: `Bearer ${t.keys.admin}` },
      { authorization: `Bearer ${t.keys.admin}`, 'apollo-require-preflight': 'true' },
    ]) {
      const res = await fetch(url, { headers });
      const text = await res.text();
      const json = JSON.parse(text);
      record('GET mutation', json);
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${text}`);
      assert.ok(ERROR_CODES.includes(json.errors[0].extensions.code), text);
    }
    const rows: unknown[] = await t.server.ds.query(
      `SELECT 1 FROM datasets WHERE name = 'via-get'`,
    );
    assert.equal(rows.length, 0);
  });

  it('echoes a given x-request-id and makes one up otherwise', async () => {
    const given = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }), {
      'x-request-id': 'trace-abc.123',
    });
    assert.equal(given.headers.get('x-request-id'), 'trace-abc.123');

    const made = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }));
    const id = made.headers.get('x-request-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    const other = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }));
    assert.notEqual(other.headers.get('x-request-id'), id);

    const unsafe = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }), {
      'x-request-id': 'bad id with spaces',
    });
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    // Errors carry one too, including the ones refused before GraphQL runs.
    const refused = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'no-key-req' },
      body: '{}',
    });
    record('no key', await refused.json());
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('x-request-id'), 'no-key-req');
  });

  it('serves the IDE at / from local assets only', async () => {
    const res = await fetch(`${t.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    const refs = [
      ...html.matchAll(/<(script|link)\b[^>]*?\b(src|href)\s*=\s*["']([^"']+)["']/gi),
    ].map((m) => m[3]);
    assert.ok(refs.length > 0, 'the page loads its scripts and styles');
    for (const ref of refs) {
      assert.ok(ref.startsWith('/ide-assets/'), `${ref} is served by this server`);
    }
    assert.doesNotMatch(html, /<(script|link)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /import\s*\(?\s*["']https?:\/\//, 'no module imported from the web');
    assert.match(html, /\/graphql/);

    const js = await fetch(`${t.url}/ide-assets/ruru.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.text()).length > 1000);
    for (const ref of refs) {
      const asset = await fetch(new URL(ref, t.url));
      assert.equal(asset.status, 200, ref);
      await asset.arrayBuffer();
    }
  });

  it('answers an unknown path outside /graphql with a coded REST error or 404', async () => {
    const res = await fetch(`${t.url}/v1/nothing-here`, {
      headers: { authorization: `Bearer ${t.keys.admin}` },
    });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});

describe('limits: a small body limit, and unknown errors', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ GRAPHQL_BODY_LIMIT: '1kb' });
  });
  after(() => t.close());

  it('refuses a JSON body over GRAPHQL_BODY_LIMIT as 413 BAD_USER_INPUT', async () => {
    const description = 'x'.repeat(2048);
    const res = await post(
      t,
      JSON.stringify({
        query: `mutation($d: String) { createDataset(input: { name: "big", description: $d }) { id } }`,
        variables: { d: description },
      }),
    );
    assert.equal(res.status, 413);
    assert.equal(res.json.errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.match(res.json.errors[0].message, /larger than the limit of 1024 bytes/);
    const rows: unknown[] = await t.server.ds.query(`SELECT 1 FROM datasets WHERE name = 'big'`);
    assert.equal(rows.length, 0);

    const small = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }));
    assert.equal(small.status, 200);
  });

  it('masks an unknown error as INTERNAL with no SQL, stack or path', async () => {
    // Break the database under the server: the datasets table disappears.
    await t.server.ds.query(`ALTER TABLE datasets RENAME TO datasets_hidden`);
    try {
      for (const query of [
        '{ datasets { totalCount nodes { id } } }',
        'mutation { createDataset(input: { name: "lost" }) { id } }',
      ]) {
        const res = await post(t, JSON.stringify({ query }));
        assert.equal(res.json.errors.length, 1, res.text);
        const [error] = res.json.errors;
        assert.equal(error.extensions.code, 'INTERNAL', res.text);
        assert.equal(error.message, 'Internal server error');
        assert.deepEqual(Object.keys(error.extensions), ['code']);
        assert.doesNotMatch(
          res.text,
          /datasets_hidden|relation|does not exist|SELECT|INSERT|QueryFailed/i,
        );
        assert.doesNotMatch(res.text, /\bat\s+\S+\s+\(|\.js:\d+|\/src\/|\/node_modules\//);
        assert.doesNotMatch(res.text, /stacktrace/i);
      }
    } finally {
      await t.server.ds.query(`ALTER TABLE datasets_hidden RENAME TO datasets`);
    }
    const healed = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }));
    assert.equal(healed.json.errors, undefined);
  });

  it('masks an unknown error on the REST surface too', async () => {
    await t.server.ds.query(`ALTER TABLE datasets RENAME TO datasets_hidden`);
    try {
      const res = await fetch(`${t.url}/v1/datasets/anything/samples`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          authorization: `Bearer ${t.keys.admin}`,
        },
        body: '{"externalId":"a","problem":"p","answer":"1"}\n',
      });
      const text = await res.text();
      const json = JSON.parse(text);
      record('REST import', json);
      assert.equal(res.status, 500, text);
      assert.equal(json.error.code, 'INTERNAL');
      assert.equal(json.error.message, 'Internal server error');
      assert.doesNotMatch(text, /datasets_hidden|relation|SELECT|\.js:\d+|\/src\//);
    } finally {
      await t.server.ds.query(`ALTER TABLE datasets_hidden RENAME TO datasets`);
    }
  });

  it('masks a failure of the key lookup itself as INTERNAL', async () => {
    // A key this process has not seen yet: the admin key is cached, and would not be looked up.
    const { key } = await t.server.services.apiKeys.create({
      name: 'never-used',
      scopes: [ApiKeyScope.READ],
    });
    await t.server.ds.query(`ALTER TABLE api_keys RENAME TO api_keys_hidden`);
    try {
      const res = await post(t, JSON.stringify({ query: '{ datasets { totalCount } }' }), {
        authorization: `Bearer ${key}`,
      });
      assert.equal(res.status, 500, res.text);
      assert.equal(res.json.errors[0].extensions.code, 'INTERNAL');
      assert.equal(res.json.errors[0].message, 'Internal server error');
      assert.doesNotMatch(res.text, /api_keys|relation|SELECT/);
    } finally {
      await t.server.ds.query(`ALTER TABLE api_keys_hidden RENAME TO api_keys`);
    }
  });
});

describe('limits: error codes seen', () => {
  it('used only the six codes in every error response above', () => {
    assert.ok(seenCodes.length >= 20, `checked ${seenCodes.length} errors`);
    const outside = seenCodes.filter((s) => !ERROR_CODES.includes(s.code as never));
    assert.deepEqual(outside, []);
  });
});
