import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toGlobalId } from '../src/common/ids';
import { startTestServer, type GqlResult, type TestServer } from './helpers/test-server';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function codeOf(res: GqlResult<unknown>): string | undefined {
  return res.errors?.[0]?.extensions.code;
}

describe('auth: API keys and scopes', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const datasetCount = async (name: string): Promise<number> => {
    const rows: { n: number }[] = await t.server.ds.query(
      `SELECT count(*)::int AS n FROM datasets WHERE name = $1`,
      [name],
    );
    return rows[0].n;
  };

  it('refuses a request without a key as 401 UNAUTHENTICATED', async () => {
    const res = await t.gql(`{ datasets { totalCount } }`, undefined, null);
    assert.equal(res.status, 401);
    assert.equal(codeOf(res), 'UNAUTHENTICATED');
    assert.equal(res.data, undefined);
  });

  it('refuses garbage keys and keys that look right but are unknown', async () => {
    for (const key of ['garbage', 'sw_' + 'x'.repeat(32), 'sw_']) {
      const res = await t.gql(`{ datasets { totalCount } }`, undefined, key);
      assert.equal(res.status, 401, key);
      assert.equal(codeOf(res), 'UNAUTHENTICATED', key);
    }
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${t.keys.admin}` },
      body: JSON.stringify({ query: '{ datasets { totalCount } }' }),
    });
    assert.equal(res.status, 401);
    const body = (await res.json()) as GqlResult<unknown>;
    assert.equal(codeOf(body), 'UNAUTHENTICATED');
  });

  it('lets a READ key query but not mutate, and writes nothing for it', async () => {
    const q = await t.gql(`{ datasets { totalCount } }`, undefined, t.keys.read);
    assert.equal(q.errors, undefined);
    assert.equal(typeof q.data.datasets.totalCount, 'number');

    const m = await t.gql(
      `mutation { createDataset(input: { name: "read-only-attempt" }) { id } }`,
      undefined,
      t.keys.read,
    );
    assert.equal(codeOf(m), 'FORBIDDEN');
    assert.match(m.errors![0].message, /WRITE/);
    assert.equal(m.data, null);
    assert.equal(await datasetCount('read-only-attempt'), 0);
  });

  it('lets a WRITE key mutate data but not manage keys', async () => {
    const m = await t.gql(
      `mutation { createDataset(input: { name: "written-by-write" }) { id name } }`,
      undefined,
      t.keys.write,
    );
    assert.equal(m.errors, undefined);
    assert.equal(m.data.createDataset.name, 'written-by-write');
    assert.equal(await datasetCount('written-by-write'), 1);

    const before = await t.server.services.apiKeys.count();
    const create = await t.gql(
      `mutation { createApiKey(input: { name: "sneaky", scopes: [ADMIN] }) { key } }`,
      undefined,
      t.keys.write,
    );
    assert.equal(codeOf(create), 'FORBIDDEN');
    assert.equal(await t.server.services.apiKeys.count(), before);

    const list = await t.gql(`{ apiKeys { nodes { id } } }`, undefined, t.keys.write);
    assert.equal(codeOf(list), 'FORBIDDEN');
    assert.equal(list.data, null);

    const adminList = await t.gql(`{ apiKeys { nodes { id name } } }`);
    const readId = adminList.data.apiKeys.nodes.find(
      (k: { name: string }) => k.name === 'test-read',
    ).id;
    const revoke = await t.gql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`,
      { id: readId },
      t.keys.write,
    );
    assert.equal(codeOf(revoke), 'FORBIDDEN');
    const still = await t.gql(`{ datasets { totalCount } }`, undefined, t.keys.read);
    assert.equal(still.errors, undefined, 'the READ key was not revoked');
  });

  it('lets a READ key not see the key list either', async () => {
    const list = await t.gql(`{ apiKeys { nodes { id } } }`, undefined, t.keys.read);
    assert.equal(codeOf(list), 'FORBIDDEN');
  });

  it('lets ADMIN create a key that works at once and is stored only as a sha256', async () => {
    const res = await t.gql(
      `mutation { createApiKey(input: { name: "ci-writer", scopes: [WRITE, READ] }) { key apiKey { id name prefix scopes revokedAt } } }`,
    );
    assert.equal(res.errors, undefined);
    const { key, apiKey } = res.data.createApiKey;
    assert.match(key, /^sw_/);
    assert.equal(apiKey.name, 'ci-writer');
    assert.deepEqual(apiKey.scopes, ['READ', 'WRITE']);
    assert.equal(apiKey.revokedAt, null);
    assert.ok(key.startsWith(apiKey.prefix));
    assert.ok(apiKey.prefix.length < key.length);

    const m = await t.gql(
      `mutation { createDataset(input: { name: "by-new-key" }) { id } }`,
      undefined,
      key,
    );
    assert.equal(m.errors, undefined);

    const rows: Record<string, unknown>[] = await t.server.ds.query(
      `SELECT hash, row_to_json(k)::text AS whole FROM api_keys k WHERE name = 'ci-writer'`,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].hash, sha256(key));
    assert.ok(!(rows[0].whole as string).includes(key), 'the key is not stored in clear');
    const secretPart = key.slice(apiKey.prefix.length);
    assert.ok(!(rows[0].whole as string).includes(secretPart), 'no part of the secret is stored');
  });

  it('lets ADMIN revoke a key, which is refused from the next request on', async () => {
    const created = await t.gql(
      `mutation { createApiKey(input: { name: "short-lived", scopes: [READ] }) { key apiKey { id } } }`,
    );
    const { key, apiKey } = created.data.createApiKey;
    const ok = await t.gql(`{ datasets { totalCount } }`, undefined, key);
    assert.equal(ok.errors, undefined);

    const revoked = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, {
      id: apiKey.id,
    });
    assert.equal(revoked.errors, undefined);
    assert.equal(revoked.data.revokeApiKey.id, apiKey.id);
    assert.ok(revoked.data.revokeApiKey.revokedAt);

    const refused = await t.gql(`{ datasets { totalCount } }`, undefined, key);
    assert.equal(refused.status, 401);
    assert.equal(codeOf(refused), 'UNAUTHENTICATED');

    const again = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, {
      id: apiKey.id,
    });
    assert.equal(
      again.data.revokeApiKey.revokedAt,
      revoked.data.revokeApiKey.revokedAt,
      'revoking twice keeps the first time',
    );
  });

  it('refuses to revoke a key that does not exist as NOT_FOUND, and a wrong id as BAD_USER_INPUT', async () => {
    const missing = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, {
      id: toGlobalId('ApiKey', 999999),
    });
    assert.equal(codeOf(missing), 'NOT_FOUND');
    const wrongType = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, {
      id: toGlobalId('Dataset', 1),
    });
    assert.equal(codeOf(wrongType), 'BAD_USER_INPUT');
  });

  it('refuses a RUNNER key from createApiKey as BAD_USER_INPUT', async () => {
    const before = await t.server.services.apiKeys.count();
    for (const scopes of ['[RUNNER]', '[READ, RUNNER]', '[]']) {
      const res = await t.gql(
        `mutation { createApiKey(input: { name: "runner", scopes: ${scopes} }) { key } }`,
      );
      assert.equal(codeOf(res), 'BAD_USER_INPUT', scopes);
    }
    assert.equal(await t.server.services.apiKeys.count(), before);
  });

  it('lets ADMIN list keys without ever showing a secret or hash', async () => {
    const res = await t.gql(`{ apiKeys(first: 500) { totalCount nodes { name prefix scopes } } }`);
    assert.equal(res.errors, undefined);
    const names = res.data.apiKeys.nodes.map((k: { name: string }) => k.name);
    assert.ok(names.includes('test-admin'));
    const body = JSON.stringify(res);
    for (const key of Object.values(t.keys)) assert.ok(!body.includes(key));
    const hashes: { hash: string }[] = await t.server.ds.query(`SELECT hash FROM api_keys`);
    for (const { hash } of hashes) assert.ok(!body.includes(hash));
  });
});
