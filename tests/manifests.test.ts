import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { withTransaction, type RequestContext } from '../src/common/request-context';
import { AppError } from '../src/common/errors';
import { ManifestPurpose, type Manifest } from '../src/modules/manifests/manifest.entity';
import type { ManifestSelection } from '../src/modules/manifests/manifest.service';
import { TraceKind } from '../src/modules/traces/trace.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  gqlErrorCode,
  gqlOk,
  importSamples,
  importTraces,
  insertManifest,
  pkOf,
  sampleRefs,
  toGlobalId,
  type Ref,
} from './helpers/seed';

/** An EVAL benchmark, and TRAIN problems that do and do not overlap it. */
const EVAL = {
  e_long:
    'Find the number of positive integers n less than 1000 such that n squared ends in the digits 21, and explain why.',
  e_short: 'What is the sum of 17 and 25?',
  e_train:
    'A train leaves the station at noon traveling at sixty miles per hour toward the city of Springfield, which is far away.',
};

const TRAIN = {
  // EVAL's e_long, with other case, punctuation, spacing and Unicode forms (fullwidth, ligature).
  t_copy:
    'Ｆｉｎｄ the NUMBER of positive-integers  n, less than 1000, such that n squared ends in the digits “21”; and explain why!!',
  // Shares 12 consecutive words with e_train ("a train leaves ... miles per"), never 13.
  t_near:
    'A train leaves the station at noon, traveling at sixty miles per day; then it stops to rest for a while before going on.',
  t_clean:
    'Compute the area of a rectangle whose sides are 12 and 7 centimetres long, and give the answer in square millimetres.',
  // EVAL's e_short (fewer than 13 words), cased and punctuated differently.
  s_copy: 'WHAT is the sum of 17 and 25??',
  s_clean: 'What is the sum of 18 and 25?',
};

const NODE = `query($id: ID!, $after: ID, $first: Int! = 100) {
  node(id: $id) {
    ... on Manifest {
      purpose itemCount sha256 contaminatedCount frozenAt
      items(first: 500) { ordinal sample { id externalId } trace { id } }
      exclusions(first: $first, after: $after) {
        reason sample { id externalId } evalSample { id externalId }
      }
    }
  }
}`;

interface ManifestView {
  purpose: string;
  itemCount: number;
  sha256: string;
  contaminatedCount: number;
  frozenAt: string | null;
  items: {
    ordinal: number;
    sample: { id: string; externalId: string };
    trace: { id: string } | null;
  }[];
  exclusions: {
    reason: string;
    sample: { id: string; externalId: string };
    evalSample: { id: string; externalId: string };
  }[];
}

/** The manifest hash as documented: `ordinal:sample_id:trace_id` lines, newline-joined. */
function expectedSha256(items: ManifestView['items']): string {
  const lines = items.map(
    (i) => `${i.ordinal}:${pkOf(i.sample.id)}:${i.trace ? pkOf(i.trace.id) : ''}`,
  );
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

describe('manifests', () => {
  let t: TestServer;
  let train: Ref;
  let bench: Ref;
  let trainSamples: Map<string, Ref>;
  let benchSamples: Map<string, Ref>;

  /** The service-level context freeze() needs (it reads the sample filter through services). */
  const serviceCtx = () =>
    ({ ds: t.server.ds, services: t.server.services }) as unknown as RequestContext;

  const freeze = (purpose: ManifestPurpose, selection: ManifestSelection) =>
    withTransaction(serviceCtx(), (tx) =>
      t.server.services.manifests.freeze(tx, tx.manager, purpose, selection),
    );

  const freezeSql = (
    purpose: ManifestPurpose,
    sql: string,
    params: unknown[],
    opts?: { allowEmpty?: boolean },
  ) =>
    withTransaction(serviceCtx(), (tx) =>
      t.server.services.manifests.freezeFromSql(tx.manager, purpose, sql, params, opts),
    );

  const view = async (m: Manifest, vars: Record<string, unknown> = {}) =>
    (
      await gqlOk<{ node: ManifestView }>(t, NODE, {
        id: toGlobalId('Manifest', m.id),
        ...vars,
      })
    ).node;

  const externalIds = (v: ManifestView) => v.items.map((i) => i.sample.externalId);

  async function download(
    path: string,
    key: string | null = t.keys.read,
  ): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const res = await fetch(`${t.url}/v1${path}`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    return {
      status: res.status,
      headers: res.headers,
      body: Buffer.from(await res.arrayBuffer()),
    };
  }

  const exportPath = (m: Manifest, format: string) =>
    `/manifests/${toGlobalId('Manifest', m.id)}/export?format=${format}`;

  async function ndjson(m: Manifest): Promise<any[]> {
    const res = await download(exportPath(m, 'ndjson'));
    assert.equal(res.status, 200, res.body.toString());
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    return res.body
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  async function parquet(m: Manifest) {
    const { parquetMetadata, parquetReadObjects } = await import('hyparquet');
    const res = await download(exportPath(m, 'parquet'));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers.get('content-type'), 'application/vnd.apache.parquet');
    const file = res.body.buffer.slice(
      res.body.byteOffset,
      res.body.byteOffset + res.body.byteLength,
    ) as ArrayBuffer;
    return {
      headers: res.headers,
      metadata: parquetMetadata(file),
      rows: (await parquetReadObjects({ file })) as any[],
    };
  }

  before(async () => {
    t = await startTestServer();
    train = await createDataset(t, 'train-set');
    bench = await createDataset(t, 'bench', 'EVAL');
    await importSamples(
      t,
      bench.id,
      Object.entries(EVAL).map(([externalId, problem]) => ({ externalId, problem, answer: 'e' })),
    );
    await importSamples(
      t,
      train.id,
      Object.entries(TRAIN).map(([externalId, problem]) => ({
        externalId,
        problem,
        answer: `gold-${externalId}`,
        domain: externalId === 't_clean' ? 'geometry' : null,
        tags: [externalId.startsWith('s_') ? 'short' : 'long'],
      })),
    );
    await importTraces(
      t,
      train.id,
      Object.keys(TRAIN).map((id) => ({
        sampleExternalId: id,
        externalId: `teacher-${id}`,
        kind: 'TEACHER' as const,
        text: `Solution of ${id}. \\boxed{1}`,
        correct: true,
        ...(id === 't_clean'
          ? {
              text: 'so the area is 8400 square millimetres.',
              metadata: { hint: 'The area is 12 x 7 = 84 square centimetres,' },
            }
          : {}),
      })),
    );
    trainSamples = await sampleRefs(t, train);
    benchSamples = await sampleRefs(t, bench);
  });
  after(() => t.close());

  describe('decontamination', () => {
    it('a training manifest leaves out a problem an EVAL dataset holds (other case and punctuation), gapless and hashed over what remains', async () => {
      const frozen = await freeze(ManifestPurpose.SFT, {
        filter: { datasetIds: [train.id], tagsAny: ['long'] },
        traceKinds: [TraceKind.TEACHER],
      });
      const v = await view(frozen);
      assert.equal(v.purpose, 'SFT');
      assert.equal(v.contaminatedCount, 1);
      assert.equal(v.itemCount, 2);
      assert.deepEqual(externalIds(v), ['t_near', 't_clean']);
      assert.deepEqual(
        v.items.map((i) => i.ordinal),
        [1, 2],
      );
      assert.ok(v.items.every((i) => i.trace !== null));
      assert.equal(v.sha256, expectedSha256(v.items));
      assert.equal(v.exclusions.length, 1);
      const [ex] = v.exclusions;
      assert.equal(ex.sample.id, trainSamples.get('t_copy')!.id);
      assert.equal(ex.evalSample.id, benchSamples.get('e_long')!.id);
      assert.equal(ex.evalSample.externalId, 'e_long');
      assert.match(ex.reason, /13-gram overlap with an EVAL sample \(\d+ shared\)/);
    });

    it('a long problem sharing only 12 consecutive words with an EVAL problem is kept', async () => {
      const frozen = await freeze(ManifestPurpose.RL, {
        filter: { datasetIds: [train.id], tagsAny: ['long'] },
      });
      const v = await view(frozen);
      assert.ok(externalIds(v).includes('t_near'));
      assert.deepEqual(
        v.exclusions.map((e) => e.sample.externalId),
        ['t_copy'],
      );
    });

    it('a short problem (fewer than 13 words) equal to an EVAL one is caught; a different short one is not', async () => {
      const frozen = await freeze(ManifestPurpose.RL, {
        filter: { datasetIds: [train.id], tagsAny: ['short'] },
      });
      const v = await view(frozen);
      assert.deepEqual(externalIds(v), ['s_clean']);
      assert.deepEqual(
        v.items.map((i) => i.ordinal),
        [1],
      );
      assert.equal(v.contaminatedCount, 1);
      assert.equal(v.exclusions[0].sample.externalId, 's_copy');
      assert.equal(v.exclusions[0].evalSample.externalId, 'e_short');
      assert.match(v.exclusions[0].reason, /fewer than 13 words/);
    });

    it('a PROBE manifest is not filtered', async () => {
      const frozen = await freeze(ManifestPurpose.PROBE, { filter: { datasetIds: [train.id] } });
      const v = await view(frozen);
      assert.equal(v.itemCount, Object.keys(TRAIN).length);
      assert.equal(v.contaminatedCount, 0);
      assert.deepEqual(v.exclusions, []);
      assert.equal(v.sha256, expectedSha256(v.items));
    });

    it('exclusions page in sample order with first and after', async () => {
      const frozen = await freeze(ManifestPurpose.CRITIQUE, { filter: { datasetIds: [train.id] } });
      const all = await view(frozen);
      assert.deepEqual(
        all.exclusions.map((e) => e.sample.externalId),
        ['t_copy', 's_copy'],
      );
      const first = await view(frozen, { first: 1 });
      assert.deepEqual(
        first.exclusions.map((e) => e.sample.externalId),
        ['t_copy'],
      );
      const next = await view(frozen, { first: 1, after: first.exclusions[0].sample.id });
      assert.deepEqual(
        next.exclusions.map((e) => e.sample.externalId),
        ['s_copy'],
      );
      const tooMany = await gqlErrorCode(t, NODE, {
        id: toGlobalId('Manifest', frozen.id),
        first: 501,
      });
      assert.equal(tooMany.code, 'BAD_USER_INPUT');
    });

    it('a selection that is all contamination is BAD_USER_INPUT and leaves no manifest', async () => {
      const before = await t.server.ds.query('SELECT count(*)::int AS n FROM manifests');
      await assert.rejects(
        freezeSql(
          ManifestPurpose.SFT,
          'SELECT s.id AS sample_id, NULL::bigint AS trace_id, s.id AS sort_key FROM samples s WHERE s.id = $1',
          [trainSamples.get('t_copy')!.pk],
        ),
        (err: unknown) =>
          err instanceof AppError &&
          err.code === 'BAD_USER_INPUT' &&
          /overlaps an EVAL dataset/.test(err.message),
      );
      const afterwards = await t.server.ds.query('SELECT count(*)::int AS n FROM manifests');
      assert.deepEqual(afterwards, before);
    });
  });

  describe('freezeFromSql', () => {
    it('numbers items by (sort_key, sample_id, trace_id): a sample appears once per trace', async () => {
      const sample = trainSamples.get('t_clean')!;
      const other = trainSamples.get('t_near')!;
      await importTraces(t, train.id, [
        { sampleExternalId: 't_clean', externalId: 'second', kind: 'TEACHER', text: 'again' },
      ]);
      const frozen = await freezeSql(
        ManifestPurpose.SFT,
        `SELECT t.sample_id, t.id AS trace_id, CASE WHEN t.sample_id = $1 THEN 0 ELSE 1 END AS sort_key
         FROM traces t WHERE t.sample_id = ANY($2::bigint[])`,
        [sample.pk, [sample.pk, other.pk]],
      );
      const v = await view(frozen);
      assert.deepEqual(externalIds(v), ['t_clean', 't_clean', 't_near']);
      assert.deepEqual(
        v.items.map((i) => i.ordinal),
        [1, 2, 3],
      );
      assert.ok(Number(pkOf(v.items[0].trace!.id)) < Number(pkOf(v.items[1].trace!.id)));
      assert.equal(v.sha256, expectedSha256(v.items));
    });

    it('an empty result is BAD_USER_INPUT, or an empty frozen manifest with allowEmpty', async () => {
      const none =
        'SELECT 1::bigint AS sample_id, NULL::bigint AS trace_id, 1 AS sort_key WHERE false';
      await assert.rejects(
        freezeSql(ManifestPurpose.RL, none, []),
        (err: unknown) => err instanceof AppError && err.code === 'BAD_USER_INPUT',
      );
      const empty = await freezeSql(ManifestPurpose.RL, none, [], { allowEmpty: true });
      assert.equal(empty.itemCount, 0);
      assert.ok(empty.frozenAt);
      assert.equal(empty.sha256, createHash('sha256').update('').digest('hex'));
      const lines = await ndjson(empty);
      assert.deepEqual(lines, []);
      const { rows, metadata } = await parquet(empty);
      assert.deepEqual(rows, []);
      assert.equal(metadata.num_rows, 0n);
    });
  });

  describe('exports', () => {
    let sft: Manifest;
    let rl: Manifest;

    before(async () => {
      sft = await freeze(ManifestPurpose.SFT, {
        filter: { datasetIds: [train.id], tagsAny: ['long'] },
        traceKinds: [TraceKind.TEACHER],
        traceProducer: null,
      });
      rl = await freeze(ManifestPurpose.RL, { filter: { datasetIds: [train.id] } });
    });

    it('NDJSON of an SFT manifest is TRL conversations; a hint joins the prompt', async () => {
      const lines = await ndjson(sft);
      const near = trainSamples.get('t_near')!;
      const clean = trainSamples.get('t_clean')!;
      const v = await view(sft);
      assert.deepEqual(lines, [
        {
          messages: [
            { role: 'user', content: TRAIN.t_near },
            { role: 'assistant', content: 'Solution of t_near. \\boxed{1}' },
          ],
          sample_id: near.id,
          trace_id: v.items[0].trace!.id,
          ordinal: 1,
        },
        {
          messages: [
            {
              role: 'user',
              content: `${TRAIN.t_clean}\n\nThe area is 12 x 7 = 84 square centimetres,`,
            },
            { role: 'assistant', content: 'so the area is 8400 square millimetres.' },
          ],
          sample_id: clean.id,
          trace_id: v.items[1].trace!.id,
          ordinal: 2,
        },
      ]);
    });

    it('NDJSON of an RL manifest is prompt-only with the gold answer', async () => {
      const lines = await ndjson(rl);
      assert.deepEqual(lines, [
        {
          prompt: [{ role: 'user', content: TRAIN.t_near }],
          answer: 'gold-t_near',
          sample_id: trainSamples.get('t_near')!.id,
          ordinal: 1,
        },
        {
          prompt: [{ role: 'user', content: TRAIN.t_clean }],
          answer: 'gold-t_clean',
          sample_id: trainSamples.get('t_clean')!.id,
          ordinal: 2,
        },
        {
          prompt: [{ role: 'user', content: TRAIN.s_clean }],
          answer: 'gold-s_clean',
          sample_id: trainSamples.get('s_clean')!.id,
          ordinal: 3,
        },
      ]);
    });

    it('Parquet of an RL manifest has verl columns: nested prompt, reward_model, extra_info', async () => {
      const { rows, metadata, headers } = await parquet(rl);
      assert.match(
        headers.get('content-disposition') ?? '',
        new RegExp(`attachment; filename="manifest-${rl.id}-rl\\.parquet"`),
      );
      assert.deepEqual(
        metadata.schema.map((e) => e.name),
        [
          'schema',
          'data_source',
          'prompt',
          'list',
          'element',
          'role',
          'content',
          'ability',
          'reward_model',
          'style',
          'ground_truth',
          'extra_info',
          'index',
          'sample_id',
          'split',
        ],
      );
      assert.equal(metadata.schema[2].converted_type, 'LIST');
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[1], {
        data_source: 'train-set',
        prompt: [{ role: 'user', content: TRAIN.t_clean }],
        ability: 'geometry',
        reward_model: { style: 'rule', ground_truth: 'gold-t_clean' },
        extra_info: { index: 2n, sample_id: trainSamples.get('t_clean')!.id, split: 'train' },
      });
      assert.equal(rows[0].ability, 'math');
      assert.deepEqual(
        rows.map((r) => r.extra_info.index),
        [1n, 2n, 3n],
      );
    });

    it('Parquet of an SFT manifest adds the response, after a hinted prompt', async () => {
      const { rows, metadata } = await parquet(sft);
      assert.equal(metadata.schema.at(-1)!.name, 'response');
      assert.deepEqual(
        rows.map((r) => [r.prompt[0].content, r.response]),
        [
          [TRAIN.t_near, 'Solution of t_near. \\boxed{1}'],
          [
            `${TRAIN.t_clean}\n\nThe area is 12 x 7 = 84 square centimetres,`,
            'so the area is 8400 square millimetres.',
          ],
        ],
      );
    });

    it('streams a large manifest in row groups of 10,000 rows', async () => {
      const n = 12_345;
      const lines = Array.from({ length: n }, (_, i) =>
        JSON.stringify({
          externalId: `b${i}`,
          problem: `Bulk problem number ${i}`,
          answer: `${i}`,
        }),
      );
      await createDataset(t, 'bulk');
      const res = await fetch(`${t.url}/v1/datasets/bulk/samples`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.keys.write}`,
          'content-type': 'application/x-ndjson',
        },
        body: lines.join('\n'),
      });
      assert.equal(res.status, 200, await res.text());
      const big = await freezeSql(
        ManifestPurpose.PROBE,
        `SELECT s.id AS sample_id, NULL::bigint AS trace_id, s.id AS sort_key
         FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = $1`,
        ['bulk'],
      );
      assert.equal(big.itemCount, n);
      const { rows, metadata } = await parquet(big);
      assert.deepEqual(
        metadata.row_groups.map((g) => g.num_rows),
        [10_000n, BigInt(n - 10_000)],
      );
      assert.equal(rows.length, n);
      assert.equal(rows[n - 1].prompt[0].content, `Bulk problem number ${n - 1}`);
      assert.equal(rows[n - 1].extra_info.index, BigInt(n));
      assert.equal((await ndjson(big)).length, n);
    });

    it('an unknown manifest is 404 NOT_FOUND, a bad format or id 400, no key 401', async () => {
      const missing = await download(
        `/manifests/${toGlobalId('Manifest', 999_999)}/export?format=ndjson`,
      );
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.body.toString()).error.code, 'NOT_FOUND');
      const format = await download(exportPath(rl, 'csv'));
      assert.equal(format.status, 400);
      assert.equal(JSON.parse(format.body.toString()).error.code, 'BAD_USER_INPUT');
      assert.match(JSON.parse(format.body.toString()).error.message, /format/);
      const wrongType = await download(
        `/manifests/${toGlobalId('Sample', 1)}/export?format=parquet`,
      );
      assert.equal(wrongType.status, 400);
      const unfrozen = await insertManifest(t, 'RL');
      const notFrozen = await download(`/manifests/${unfrozen.id}/export?format=ndjson`);
      assert.equal(notFrozen.status, 400);
      assert.match(JSON.parse(notFrozen.body.toString()).error.message, /not frozen/);
      const anonymous = await download(exportPath(rl, 'ndjson'), null);
      assert.equal(anonymous.status, 401);
    });
  });
});
