import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';

describe('datasets', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('creates a dataset and lists it', async () => {
    const created = await t.gql(
      `mutation { createDataset(input: { name: "gsm8k", split: EVAL, description: "grade school" }) { id name split description } }`,
    );
    assert.equal(created.errors, undefined);
    assert.equal(created.data.createDataset.name, 'gsm8k');
    assert.equal(created.data.createDataset.split, 'EVAL');
    const listed = await t.gql(`{ datasets { totalCount nodes { name } } }`);
    assert.deepEqual(listed.data.datasets.nodes, [{ name: 'gsm8k' }]);
    assert.equal(listed.data.datasets.totalCount, 1);
  });

  it('refuses a second dataset with the same name as CONFLICT', async () => {
    await t.gql(`mutation { createDataset(input: { name: "dup" }) { id } }`);
    const again = await t.gql(`mutation { createDataset(input: { name: "dup" }) { id } }`);
    assert.equal(again.errors?.[0].extensions.code, 'CONFLICT');
  });

  it('names the wrong field of an invalid input in a BAD_USER_INPUT error', async () => {
    const res = await t.gql(
      `mutation { createDataset(input: { name: "no spaces allowed" }) { id } }`,
    );
    assert.equal(res.errors?.[0].extensions.code, 'BAD_USER_INPUT');
    assert.match(res.errors[0].message, /name/);
  });

  it('updates the description and split, keeping the id', async () => {
    const { data } = await t.gql(`mutation { createDataset(input: { name: "upd" }) { id } }`);
    const res = await t.gql(
      `mutation($id: ID!) { updateDataset(input: { id: $id, description: "new", split: EVAL }) { id description split } }`,
      { id: data.createDataset.id },
    );
    assert.deepEqual(res.data.updateDataset, {
      id: data.createDataset.id,
      description: 'new',
      split: 'EVAL',
    });
  });
});
