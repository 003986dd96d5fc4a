import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type GqlResult, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createDataset,
  createPolicy,
  gqlOk,
  importSamples,
  importTraces,
  insertRun,
} from './helpers/seed';
import { toAppError } from '../src/common/errors';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';

/** PostgreSQL's wording, SQL or a stack trace: none may reach a client. */
const LEAKS =
  /Key \(|violates|duplicate key|relation "|SELECT |INSERT |invalid input syntax|\n\s+at /;

/**
 * Makes the race deterministic: a transaction of the test inserts `sql` and holds it
 * uncommitted, `request` is sent (its check for the name sees nothing; its insert waits on the
 * unique index), and once PostgreSQL shows that insert waiting the test commits, so the
 * request's insert fails with a unique violation, exactly as when two clients collide.
 */
async function raceAgainstHeldInsert<T>(
  t: TestServer,
  sql: string,
  params: unknown[],
  request: () => Promise<T>,
): Promise<T> {
  const qr = t.server.ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.startTransaction();
    await qr.query(sql, params);
    const answer = request();
    for (;;) {
      const [row] = await t.server.ds.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event = 'transactionid'`,
      );
      if (row.n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await qr.commitTransaction();
    return await answer;
  } finally {
    await qr.release();
  }
}

function conflictOf(res: GqlResult<unknown>) {
  assert.ok(res.errors?.length, `expected an error, got ${JSON.stringify(res.data)}`);
  const [error] = res.errors;
  assert.equal(error.extensions.code, 'CONFLICT', JSON.stringify(res.errors));
  assert.doesNotMatch(error.message, LEAKS);
  return error.message;
}

describe('races and cursors keep to the API words', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('gives the loser of a createDataset race CONFLICT in the API words, not PostgreSQL', async () => {
    const res = await raceAgainstHeldInsert(
      t,
      `INSERT INTO datasets (name) VALUES ($1)`,
      ['raced'],
      () => t.gql(`mutation { createDataset(input: { name: "raced" }) { id } }`),
    );
    assert.equal(conflictOf(res), 'A dataset named "raced" already exists');
    assert.deepEqual(res.errors![0].extensions, { code: 'CONFLICT', name: 'raced' });
  });

  it('gives the loser of a createCheckpoint race CONFLICT in the API words', async () => {
    const res = await raceAgainstHeldInsert(
      t,
      `INSERT INTO checkpoints (name, base_model, uri) VALUES ($1, 'm', 'file:///x')`,
      ['raced-ckpt'],
      () =>
        t.gql(
          `mutation { createCheckpoint(input: { name: "raced-ckpt", baseModel: "m", uri: "file:///y" }) { id } }`,
        ),
    );
    assert.equal(conflictOf(res), 'A checkpoint named "raced-ckpt" already exists');
  });

  it('gives the loser of a rename race (updateDataset) CONFLICT in the API words', async () => {
    const d = await createDataset(t, 'to-rename');
    const res = await raceAgainstHeldInsert(
      t,
      `INSERT INTO datasets (name) VALUES ($1)`,
      ['renamed'],
      () =>
        t.gql(`mutation($id: ID!) { updateDataset(input: { id: $id, name: "renamed" }) { id } }`, {
          id: d.id,
        }),
    );
    assert.equal(conflictOf(res), 'A dataset named "renamed" already exists');
  });

  it('gives the loser of a createCurriculum race CONFLICT in the API words', async () => {
    const train = await createDataset(t, 'curriculum-train');
    const base = await createCheckpoint(t, { name: 'curriculum-base' });
    const policy = await createPolicy(t, { name: 'curriculum-policy' });
    const res = await raceAgainstHeldInsert(
      t,
      `INSERT INTO curricula (name, base_checkpoint_id, policy_id, rounds, launcher)
       VALUES ($1, $2, $3, 1, 'local')`,
      ['raced-curriculum', base.pk, policy.pk],
      () =>
        t.gql(
          `mutation($input: CreateCurriculumInput!) { createCurriculum(input: $input) { id } }`,
          {
            input: {
              name: 'raced-curriculum',
              datasetIds: [train.id],
              baseCheckpointId: base.id,
              policyId: policy.id,
              rounds: 1,
              autoAdvance: false,
            },
          },
        ),
    );
    assert.equal(conflictOf(res), 'A curriculum named "raced-curriculum" already exists');
  });

  it('lets one of many concurrent createDataset calls with one name win; the others get CONFLICT', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.gql(`mutation { createDataset(input: { name: "crowded" }) { id } }`, {}, t.keys.write),
      ),
    );
    const won = results.filter((r) => !r.errors);
    assert.equal(won.length, 1);
    for (const lost of results.filter((r) => r.errors)) {
      assert.equal(conflictOf(lost), 'A dataset named "crowded" already exists');
    }
  });

  it('describes any database error an input caused in its own words, never PostgreSQL', () => {
    const pg = (fields: Record<string, unknown>) =>
      Object.assign(new Error('duplicate key value violates unique constraint "uq_x"'), fields);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        {
          code: '23505',
          table: 'samples',
          detail: 'Key (dataset_id, external_id)=(1, a) already exists.',
        },
        'CONFLICT',
        /^A sample with the same datasetId and externalId already exists$/,
      ],
      [
        {
          code: '23505',
          table: 'routing_policies',
          detail: 'Key (name, version)=(p, 2) already exists.',
        },
        'CONFLICT',
        /^A routing policy with the same name and version already exists$/,
      ],
      [
        { code: '23505', table: 'curricula', detail: 'Key (name)=(c) already exists.' },
        'CONFLICT',
        /^A curriculum with the same name already exists$/,
      ],
      [
        {
          code: '23503',
          table: 'traces',
          detail: 'Key (sample_id)=(9) is not present in table "samples".',
        },
        'BAD_USER_INPUT',
        /does not exist/,
      ],
      [
        {
          code: '23503',
          table: 'samples',
          detail: 'Key (id)=(9) is still referenced from table "traces".',
        },
        'BAD_USER_INPUT',
        /still in use/,
      ],
      [{ code: '22P02' }, 'BAD_USER_INPUT', /format/],
      [{ code: '22021' }, 'BAD_USER_INPUT', /cannot be stored/],
      [{ code: '22P05' }, 'BAD_USER_INPUT', /cannot be stored/],
      [{ code: '54001' }, 'BAD_USER_INPUT', /nested too deeply/],
    ];
    for (const [fields, code, message] of cases) {
      const error = toAppError(pg(fields));
      assert.equal(error.code, code, JSON.stringify(fields));
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, LEAKS);
      assert.deepEqual(error.details, {});
    }
  });

  describe('cursors', () => {
    /** Each connection's endCursor after its first row. */
    const cursors = new Map<string, string>();
    const CONNECTIONS = ['datasets', 'samples', 'traces', 'checkpoints', 'routingPolicies'];

    before(async () => {
      const d = await createDataset(t, 'paged');
      await importSamples(t, d.id, [
        { externalId: 'p1', problem: 'p1?' },
        { externalId: 'p2', problem: 'p2?' },
      ]);
      await importTraces(t, d.id, [
        { sampleExternalId: 'p1', kind: 'TEACHER', text: 'a', externalId: 'a' },
        { sampleExternalId: 'p2', kind: 'TEACHER', text: 'b', externalId: 'b' },
      ]);
      await createPolicy(t, { name: 'paged-policy' });
      for (const field of CONNECTIONS) {
        const data = await gqlOk(t, `{ ${field}(first: 1) { pageInfo { endCursor } } }`);
        cursors.set(field, data[field].pageInfo.endCursor);
      }
    });

    it('refuses a cursor of one connection type on another', async () => {
      for (const [from, cursor] of cursors) {
        for (const to of CONNECTIONS.filter((c) => c !== from)) {
          const res = await t.gql(`query($c: String) { ${to}(after: $c) { totalCount } }`, {
            c: cursor,
          });
          const error = res.errors?.[0];
          assert.equal(error?.extensions.code, 'BAD_USER_INPUT', `${from} cursor on ${to}`);
          assert.match(error.message, /cursor/);
        }
      }
    });

    it('refuses a foreign cursor with every scope that may read the connection', async () => {
      const runner = await t.server.services.apiKeys.create({
        name: 'cursor-runner',
        scopes: [ApiKeyScope.RUNNER],
        runId: Number((await insertRun(t, { stage: 'SFT', status: 'RUNNING' })).pk),
      });
      const expected: [string, string][] = [
        [t.keys.read, 'BAD_USER_INPUT'],
        [t.keys.write, 'BAD_USER_INPUT'],
        [t.keys.admin, 'BAD_USER_INPUT'],
        // A runner key reads nothing through GraphQL: refused for its scope first.
        [runner.key, 'FORBIDDEN'],
      ];
      for (const [key, code] of expected) {
        const res = await t.gql(
          `query($c: String) { datasets(after: $c) { totalCount } }`,
          { c: cursors.get('traces') },
          key,
        );
        assert.equal(res.errors?.[0]?.extensions.code, code, JSON.stringify(res.errors));
        assert.doesNotMatch(res.errors[0].message, LEAKS);
      }
    });

    it('still pages each connection with its own cursor', async () => {
      for (const [field, cursor] of cursors) {
        const data = await gqlOk(t, `query($c: String) { ${field}(after: $c) { nodes { id } } }`, {
          c: cursor,
        });
        assert.ok(Array.isArray(data[field].nodes), field);
      }
      const page = await gqlOk(t, `query($c: String) { traces(after: $c) { nodes { text } } }`, {
        c: cursors.get('traces'),
      });
      assert.deepEqual(
        page.traces.nodes.map((n: { text: string }) => n.text),
        ['b'],
      );
    });
  });
});
