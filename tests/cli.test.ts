import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { KEYS_CLI, runScript } from './helpers/cli';

describe('keys CLI', () => {
  let t: TestServer;
  let databaseUrl: string;

  const keys = (...args: string[]) =>
    runScript(
      KEYS_CLI,
      args,
      { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
      60_000,
    );

  before(async () => {
    t = await startTestServer();
    databaseUrl = (t.server.ds.options as { url?: string }).url!;
    assert.ok(databaseUrl);
  });
  after(() => t.close());

  it('creates a key (--json) that works against the server at once', async () => {
    const res = await keys('create', '--name', 'cli-writer', '--scopes', 'read,write', '--json');
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim());
    assert.equal(out.name, 'cli-writer');
    assert.deepEqual(out.scopes, ['READ', 'WRITE']);
    assert.match(out.key, /^sw_/);
    assert.equal(typeof out.id, 'string');

    const m = await t.gql(
      `mutation { createDataset(input: { name: "from-cli-key" }) { id } }`,
      undefined,
      out.key,
    );
    assert.equal(m.errors, undefined);
    const admin = await t.gql(
      `mutation { createApiKey(input: { name: "x", scopes: [READ] }) { key } }`,
      undefined,
      out.key,
    );
    assert.equal(admin.errors?.[0].extensions.code, 'FORBIDDEN');

    // The id printed is the GraphQL id.
    const listed = await t.gql(`{ apiKeys(first: 500) { nodes { id name } } }`);
    assert.ok(
      listed.data.apiKeys.nodes.some(
        (k: { id: string; name: string }) => k.id === out.id && k.name === 'cli-writer',
      ),
    );
  });

  it('creates a key with a readable (non-JSON) message that shows the key once', async () => {
    const res = await keys('create', '--name', 'cli-human', '--scopes', 'READ');
    assert.equal(res.code, 0, res.stderr);
    const key = /\b(sw_\S+)/.exec(res.stdout)?.[1];
    assert.ok(key, res.stdout);
    const q = await t.gql(`{ datasets { totalCount } }`, undefined, key);
    assert.equal(q.errors, undefined);
  });

  it('lists keys as JSON, with prefixes but no secrets or hashes', async () => {
    const created = JSON.parse(
      (await keys('create', '--name', 'cli-listed', '--scopes', 'ADMIN', '--json')).stdout,
    );
    const res = await keys('list', '--json');
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout.trim()) as Record<string, unknown>[];
    assert.ok(Array.isArray(rows));
    const row = rows.find((r) => r.name === 'cli-listed');
    assert.ok(row, res.stdout);
    assert.equal(row.scopes, 'ADMIN');
    assert.equal(row.revoked, '');
    assert.equal(typeof row.prefix, 'string');
    assert.ok(created.key.startsWith(row.prefix));
    for (const name of ['test-read', 'test-write', 'test-admin'])
      assert.ok(
        rows.some((r) => r.name === name),
        name,
      );
    assert.ok(!res.stdout.includes(created.key), 'the list never shows a secret');
    const hashes: { hash: string }[] = await t.server.ds.query(`SELECT hash FROM api_keys`);
    for (const { hash } of hashes) assert.ok(!res.stdout.includes(hash));
  });

  it('revokes by prefix: the key is UNAUTHENTICATED on the next request', async () => {
    const created = JSON.parse(
      (await keys('create', '--name', 'cli-revoked', '--scopes', 'READ', '--json')).stdout,
    );
    const before = await t.gql(`{ datasets { totalCount } }`, undefined, created.key);
    assert.equal(before.errors, undefined);

    const rows = JSON.parse((await keys('list', '--json')).stdout) as Record<string, unknown>[];
    const prefix = rows.find((r) => r.name === 'cli-revoked')!.prefix as string;
    const res = await keys('revoke', prefix);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Revoked/);

    const refused = await t.gql(`{ datasets { totalCount } }`, undefined, created.key);
    assert.equal(refused.status, 401);
    assert.equal(refused.errors?.[0].extensions.code, 'UNAUTHENTICATED');
    const after = JSON.parse((await keys('list', '--json')).stdout) as Record<string, unknown>[];
    assert.notEqual(after.find((r) => r.name === 'cli-revoked')!.revoked, '');
  });

  it('revokes by numeric id', async () => {
    const created = JSON.parse(
      (await keys('create', '--name', 'cli-by-id', '--scopes', 'READ', '--json')).stdout,
    );
    const rows = JSON.parse((await keys('list', '--json')).stdout) as Record<string, unknown>[];
    const id = rows.find((r) => r.name === 'cli-by-id')!.id as number;
    const res = await keys('revoke', String(id));
    assert.equal(res.code, 0, res.stderr);
    const refused = await t.gql(`{ datasets { totalCount } }`, undefined, created.key);
    assert.equal(refused.errors?.[0].extensions.code, 'UNAUTHENTICATED');
  });

  it('exits non-zero with a usage message on bad arguments', async () => {
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['revoke'],
      ['create', '--name', 'no-scopes'],
      ['create', '--scopes', 'READ'],
      ['list', '--bogus'],
    ];
    const results = await Promise.all(cases.map((args) => keys(...args)));
    for (const [i, args] of cases.entries()) {
      const res = results[i];
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, /Usage:/, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '', args.join(' '));
    }
  });

  it('refuses a RUNNER or unknown scope, naming it, and creates nothing', async () => {
    const before = await t.server.services.apiKeys.count();
    for (const scopes of ['RUNNER', 'READ,SUPERUSER']) {
      const res = await keys('create', '--name', 'bad-scope', '--scopes', scopes);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /Unknown scope/);
      assert.match(res.stderr, new RegExp(scopes.split(',').pop()!));
    }
    assert.equal(await t.server.services.apiKeys.count(), before);
  });

  it('fails clearly when revoking a key that does not exist', async () => {
    const res = await keys('revoke', 'sw_nothere');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /sw_nothere does not exist/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  });
});
