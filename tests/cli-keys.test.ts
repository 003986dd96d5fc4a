import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { StagewiseCli } from './helpers/cli';

describe('stagewise keys: API keys through the ADMIN mutations', () => {
  let t: TestServer;
  let cli: StagewiseCli;
  const admin = (...args: string[]) =>
    cli.run(['keys', ...args], { STAGEWISE_API_KEY: t.keys.admin });

  before(async () => {
    t = await startTestServer();
    cli = new StagewiseCli(t);
  });
  after(() => t.close());

  it('creates a key (--json) that works against the server at once, with the scopes asked for', async () => {
    const res = await admin('create', '--name', 'via-api', '--scopes', 'read,write', '--json');
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.name, 'via-api');
    assert.deepEqual(out.scopes, ['READ', 'WRITE']);
    assert.match(out.key, /^sw_/);
    assert.ok(out.key.startsWith(out.prefix));
    const write = await t.gql(
      `mutation { createDataset(input: { name: "by-new-key" }) { id } }`,
      undefined,
      out.key,
    );
    assert.equal(write.errors, undefined);
  });

  it('creates a key with a readable message that shows the key once', async () => {
    const res = await admin('create', '--name', 'human', '--scopes', 'READ');
    assert.equal(res.code, 0, res.stderr);
    const key = /\b(sw_\S+)/.exec(res.stdout)?.[1];
    assert.ok(key, res.stdout);
    assert.match(res.stdout, /Created key "human" \(READ\)/);
    assert.equal((await t.gql(`{ datasets { totalCount } }`, undefined, key)).errors, undefined);
  });

  it('lists keys as a table and as JSON, without secrets', async () => {
    const table = await admin('list');
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trim().split('\n');
    assert.match(header, /^ID +NAME +PREFIX +SCOPES +CREATED +LAST USED +REVOKED$/);
    assert.ok(
      rows.some((r) => /\bvia-api\b.*READ,WRITE/.test(r)),
      table.stdout,
    );
    assert.doesNotMatch(table.stdout, /sw_[A-Za-z0-9_-]{20,}/);

    const json = await admin('list', '--json');
    const keys = JSON.parse(json.stdout) as { name: string; revokedAt: string | null }[];
    for (const name of ['test-read', 'test-write', 'test-admin', 'via-api', 'human']) {
      assert.ok(
        keys.some((k) => k.name === name),
        name,
      );
    }
    assert.ok(keys.every((k) => !('key' in k) && !('hash' in k)));
  });

  it('revokes a key by id or by prefix; the key stops working', async () => {
    const byId = JSON.parse(
      (await admin('create', '--name', 'doomed', '--scopes', 'READ', '--json')).stdout,
    );
    const revoked = await admin('revoke', byId.id, '--json');
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.ok(JSON.parse(revoked.stdout).revokedAt);
    const refused = await t.gql(`{ datasets { totalCount } }`, undefined, byId.key);
    assert.equal(refused.errors?.[0].extensions.code, 'UNAUTHENTICATED');

    const byPrefix = JSON.parse(
      (await admin('create', '--name', 'doomed-2', '--scopes', 'READ', '--json')).stdout,
    );
    const res = await admin('revoke', byPrefix.prefix);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Revoked key .* \(doomed-2, /);
  });

  it('exits 3 on usage errors and a key without ADMIN, 1 when the API refuses', async () => {
    await cli.expectExits([
      { args: ['keys'], code: 3, stderr: /stagewise keys create/ },
      { args: ['keys', 'create', '--name', 'x'], code: 3, stderr: /--scopes required/ },
      {
        args: ['keys', 'create', '--name', 'x', '--scopes', 'RUNNER'],
        code: 3,
        stderr: /--scopes takes READ, WRITE, ADMIN/,
      },
      { args: ['keys', 'revoke'], code: 3, stderr: /keys revoke takes one key id/ },
      { args: ['keys', 'list'], code: 3, stderr: /FORBIDDEN/ },
      {
        args: ['keys', 'revoke', 'no-such-key'],
        env: { STAGEWISE_API_KEY: t.keys.admin },
        code: 1,
      },
      { args: ['keys', '--help'], code: 0 },
    ]);
  });
});
