import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  gqlErrorCode,
  gqlOk,
  importSamples,
  sampleRefs,
  type Ref,
} from './helpers/seed';

const PAGE = `query($filter: SampleFilter, $first: Int, $after: String) {
  samples(filter: $filter, first: $first, after: $after) {
    edges { cursor node { externalId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface Page {
  edges: { cursor: string; node: { externalId: string } }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/** Replaces the character at `i` with another one of the base64url alphabet. */
function flipChar(s: string, i: number): string {
  const c = s[i];
  return s.slice(0, i) + (c === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('pagination', () => {
  let t: TestServer;
  let big: Ref;
  let six: Ref;
  let empty: Ref;
  const bigIds = Array.from({ length: 60 }, (_, i) => `big-${String(i).padStart(2, '0')}`);

  const page = async (vars: Record<string, unknown>): Promise<Page> =>
    (await gqlOk<{ samples: Page }>(t, PAGE, vars)).samples;

  before(async () => {
    t = await startTestServer();
    big = await createDataset(t, 'pg-big');
    six = await createDataset(t, 'pg-six');
    empty = await createDataset(t, 'pg-empty');
    // Interleave the imports so the two datasets' rows alternate in id order.
    for (let i = 0; i < 6; i++) {
      await importSamples(t, six.id, [{ externalId: `six-${i}`, problem: `six ${i}` }]);
      await importSamples(
        t,
        big.id,
        bigIds
          .slice(i * 10, i * 10 + 10)
          .map((externalId) => ({ externalId, problem: externalId })),
      );
    }
  });
  after(() => t.close());

  it('returns 50 rows when first is not given', async () => {
    const p = await page({ filter: { datasetIds: [big.id] } });
    assert.equal(p.edges.length, 50);
    assert.deepEqual(
      p.edges.map((e) => e.node.externalId),
      bigIds.slice(0, 50),
    );
    assert.equal(p.pageInfo.hasNextPage, true);
    assert.equal(p.pageInfo.hasPreviousPage, false);
  });

  it('returns no rows for first: 0 but still says whether rows exist', async () => {
    const p = await page({ filter: { datasetIds: [six.id] }, first: 0 });
    assert.deepEqual(p.edges, []);
    assert.equal(p.pageInfo.startCursor, null);
    assert.equal(p.pageInfo.endCursor, null);
    assert.equal(p.pageInfo.hasNextPage, true);
    const none = await page({ filter: { datasetIds: [empty.id] }, first: 0 });
    assert.equal(none.pageInfo.hasNextPage, false);
  });

  it('answers totalCount with first: 0', async () => {
    const data = await gqlOk(
      t,
      `query($f: SampleFilter) { samples(filter: $f, first: 0) { totalCount nodes { id } } }`,
      {
        f: { datasetIds: [six.id] },
      },
    );
    assert.deepEqual(data.samples, { totalCount: 6, nodes: [] });
  });

  it('accepts first: 500 and refuses first: 501 as BAD_USER_INPUT', async () => {
    const ok = await page({ filter: { datasetIds: [big.id] }, first: 500 });
    assert.equal(ok.edges.length, 60);
    const err = await gqlErrorCode(t, PAGE, { first: 501 });
    assert.equal(err.code, 'BAD_USER_INPUT');
    assert.match(err.message, /first/);
  });

  it('refuses a negative first as BAD_USER_INPUT', async () => {
    const err = await gqlErrorCode(t, PAGE, { first: -1 });
    assert.equal(err.code, 'BAD_USER_INPUT');
  });

  it('refuses first above 500 on every connection, not only samples', async () => {
    for (const field of [
      'traces',
      'datasets',
      'checkpoints',
      'runs',
      'critiques',
      'curricula',
      'routingPolicies',
      'stageAssignments',
    ]) {
      const err = await gqlErrorCode(t, `{ ${field}(first: 501) { nodes { id } } }`);
      assert.equal(err.code, 'BAD_USER_INPUT', field);
    }
  });

  it('returns an empty page with null cursors and no next page for an empty set', async () => {
    const p = await page({ filter: { datasetIds: [empty.id] }, first: 10 });
    assert.deepEqual(p, {
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('says there is no next page on an exactly full last page', async () => {
    const filter = { datasetIds: [six.id] };
    const first = await page({ filter, first: 3 });
    assert.deepEqual(
      first.edges.map((e) => e.node.externalId),
      ['six-0', 'six-1', 'six-2'],
    );
    assert.equal(first.pageInfo.hasNextPage, true);
    const second = await page({ filter, first: 3, after: first.pageInfo.endCursor });
    assert.deepEqual(
      second.edges.map((e) => e.node.externalId),
      ['six-3', 'six-4', 'six-5'],
    );
    assert.equal(second.pageInfo.hasNextPage, false);
    assert.equal(second.pageInfo.hasPreviousPage, true);
    const past = await page({ filter, first: 3, after: second.pageInfo.endCursor });
    assert.deepEqual(past.edges, []);
    assert.equal(past.pageInfo.hasNextPage, false);
  });

  it('pages through a filtered set in a stable order without duplicates or gaps', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const p: Page = await page({ filter: { datasetIds: [big.id] }, first: 7, after });
      seen.push(...p.edges.map((e) => e.node.externalId));
      pages += 1;
      assert.equal(p.pageInfo.startCursor, p.edges[0]?.cursor ?? null);
      assert.equal(p.pageInfo.endCursor, p.edges.at(-1)?.cursor ?? null);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    assert.equal(pages, 9);
    assert.deepEqual(seen, bigIds);
  });

  it('continues after any edge cursor, not only endCursor', async () => {
    const p = await page({ filter: { datasetIds: [six.id] }, first: 6 });
    const next = await page({
      filter: { datasetIds: [six.id] },
      first: 2,
      after: p.edges[1].cursor,
    });
    assert.deepEqual(
      next.edges.map((e) => e.node.externalId),
      ['six-2', 'six-3'],
    );
  });

  it('lists rows oldest first, in id order', async () => {
    const refs = await sampleRefs(t, six);
    const data = await gqlOk(
      t,
      `query($f: SampleFilter) { samples(filter: $f) { nodes { id } } }`,
      {
        f: { datasetIds: [six.id] },
      },
    );
    assert.deepEqual(
      data.samples.nodes.map((n: { id: string }) => n.id),
      [...refs.values()].map((r) => r.id),
    );
  });

  describe('cursors', () => {
    let real: string;
    before(async () => {
      const p = await page({ filter: { datasetIds: [six.id] }, first: 2 });
      real = p.pageInfo.endCursor!;
    });

    const refused = async (after: string) => {
      const err = await gqlErrorCode(t, PAGE, {
        filter: { datasetIds: [six.id] },
        first: 2,
        after,
      });
      assert.equal(err.code, 'BAD_USER_INPUT', `cursor ${after}`);
      assert.match(err.message, /cursor/);
    };

    it('accepts the cursor it issued', async () => {
      const p = await page({ filter: { datasetIds: [six.id] }, first: 2, after: real });
      assert.deepEqual(
        p.edges.map((e) => e.node.externalId),
        ['six-2', 'six-3'],
      );
    });

    it('refuses a cursor with one character of its signature changed as BAD_USER_INPUT', async () => {
      const dot = real.indexOf('.');
      for (const i of [dot + 1, real.length - 1]) await refused(flipChar(real, i));
    });

    it('refuses a cursor with one character of its payload changed as BAD_USER_INPUT', async () => {
      await refused(flipChar(real, 0));
      await refused(flipChar(real, 1));
    });

    it('refuses a cursor pointing at another row with the old signature as BAD_USER_INPUT', async () => {
      const signature = real.split('.')[1];
      await refused(`${Buffer.from('k:1').toString('base64url')}.${signature}`);
    });

    it('refuses made-up cursors as BAD_USER_INPUT', async () => {
      for (const c of [
        'abc',
        '',
        '.',
        `${Buffer.from('k:1').toString('base64url')}.AAAAAAAAAAAAAAAA`,
        `${real}.extra`,
        `${real.split('.')[0]}`,
        `${real.split('.')[0]}.${'é'.repeat(16)}`,
        `${real.split('.')[0]}.${'\u{1F600}'.repeat(8)}`,
      ]) {
        if (c === '') {
          // An empty cursor is the same as none: the first page.
          const p = await page({ filter: { datasetIds: [six.id] }, first: 1, after: c });
          assert.equal(p.edges[0].node.externalId, 'six-0');
          continue;
        }
        await refused(c);
      }
    });

    it('refuses a made-up cursor on every connection, not only samples', async () => {
      for (const field of [
        'traces',
        'datasets',
        'checkpoints',
        'runs',
        'critiques',
        'curricula',
        'routingPolicies',
        'stageAssignments',
      ]) {
        const err = await gqlErrorCode(t, `{ ${field}(after: "bogus.cursor") { nodes { id } } }`);
        assert.equal(err.code, 'BAD_USER_INPUT', field);
      }
    });
  });

  describe('totalCount', () => {
    it('counts the rows matching the filter, not the page', async () => {
      const data = await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f, first: 2) { totalCount nodes { id } } }`,
        {
          f: { datasetIds: [six.id] },
        },
      );
      assert.equal(data.samples.totalCount, 6);
      assert.equal(data.samples.nodes.length, 2);
      const all = await gqlOk(t, `{ samples(first: 1) { totalCount } }`);
      assert.equal(all.samples.totalCount, 66);
    });

    it('counts the whole filtered set on later pages too', async () => {
      const p = await page({ filter: { datasetIds: [six.id] }, first: 4 });
      const data = await gqlOk(
        t,
        `query($f: SampleFilter, $a: String) { samples(filter: $f, first: 4, after: $a) { totalCount nodes { id } } }`,
        {
          f: { datasetIds: [six.id] },
          a: p.pageInfo.endCursor,
        },
      );
      assert.equal(data.samples.totalCount, 6);
      assert.equal(data.samples.nodes.length, 2);
    });

    it('runs a COUNT statement only when totalCount is asked for', async () => {
      const vars = { f: { datasetIds: [six.id] } };
      await gqlOk(t, `{ samples(first: 1) { nodes { id } } }`); // warm-up: the key's lastUsedAt write
      t.counter.count = 0;
      await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f, first: 2) { nodes { id } } }`,
        vars,
      );
      const without = t.counter.count;
      t.counter.count = 0;
      await gqlOk(
        t,
        `query($f: SampleFilter) { samples(filter: $f, first: 2) { totalCount nodes { id } } }`,
        vars,
      );
      const withCount = t.counter.count;
      assert.equal(withCount, without + 1);
    });
  });

  describe('ids', () => {
    it('refuses a Dataset id where a Sample id is needed as BAD_USER_INPUT naming both types', async () => {
      const err = await gqlErrorCode(
        t,
        `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { id } } }`,
        {
          id: big.id,
        },
      );
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.match(err.message, /Dataset id, but a Sample id is needed/);
    });

    it('refuses an id that is not a global id as BAD_USER_INPUT', async () => {
      for (const id of [
        '42',
        'not-an-id',
        Buffer.from('Sample:0').toString('base64url'),
        Buffer.from('Sample:01').toString('base64url'),
      ]) {
        const err = await gqlErrorCode(
          t,
          `query($id: ID!) { traces(filter: { sampleId: $id }) { nodes { id } } }`,
          { id },
        );
        assert.equal(err.code, 'BAD_USER_INPUT', id);
      }
    });
  });
});
