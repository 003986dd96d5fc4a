import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from './helpers/test-server';
import { GRADER_VERSION, grade } from '../src/grading';

/** What one sample line of an NDJSON file holds. */
interface SampleLine {
  externalId: string;
  problem: string;
  answer: string;
  domain?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

/** What one trace line of an NDJSON file holds. */
interface TraceLine {
  sampleExternalId: string;
  externalId?: string | null;
  kind: string;
  text: string;
  finalAnswer?: string | null;
  correct?: boolean | null;
  reward?: number | null;
  graderVersion?: string | null;
  producer?: string | null;
  tokenCount?: number | null;
  metadata?: Record<string, unknown>;
}

/** The repeat fields of an import answer without repeats. */
const NO_REPEATS = { repeatedCount: 0, repeated: [] };

const KINDS = ['TEACHER', 'ROLLOUT', 'BRIDGED', 'REPAIR', 'SOLUTION'];

/** A sample with text that exercises COPY escaping: backslashes, newlines, tabs, quotes. */
function sample(i: number, prefix = 's'): SampleLine {
  return {
    externalId: `${prefix}${i}`,
    problem: `Problem ${prefix}${i}: compute \\frac{${i}}{2}.\nShow\tyour "work" — ünïcödé ${i}`,
    answer: String(i / 2),
    domain: i % 3 === 0 ? null : i % 3 === 1 ? 'algebra' : 'geometry',
    tags: i % 2 === 0 ? ['even', `mod5-${i % 5}`] : ['odd', 'with "quote", and comma\\'],
    metadata: { i, source: 'gen', nested: { ok: i % 2 === 0 } },
  };
}

function trace(i: number, sampleExternalId: string): TraceLine {
  return {
    sampleExternalId,
    externalId: i % 4 === 0 ? null : `t${i}`,
    kind: KINDS[i % KINDS.length],
    text: `Step 1: let x = ${i}.\nStep 2: \\boxed{${i * 2}}\r\n\tdone — ${i}`,
    finalAnswer: i % 5 === 0 ? null : String(i * 2),
    correct: i % 3 === 0 ? null : i % 3 === 1,
    reward: i % 3 === 0 ? null : i % 3 === 1 ? 1 : -0.25,
    graderVersion: i % 2 === 0 ? 'g1' : null,
    producer: i % 2 === 0 ? 'teacher-70b' : 'student-1b',
    tokenCount: i % 7 === 0 ? null : 100 + i,
    metadata: i % 6 === 0 ? {} : { i, tag: `m${i % 3}` },
  };
}

function ndjson(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A trace line for sample s5 with every optional field absent. */
function trace0(): TraceLine {
  return { sampleExternalId: 's5', kind: 'TEACHER', text: 'x' };
}

function range(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, k) => from + k);
}

/** The NDJSON error body every REST error has. */
interface RestError {
  error: { code: string; message: string; [k: string]: unknown };
}

describe('bulk NDJSON endpoints', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  async function createDataset(name: string): Promise<void> {
    const res = await t.gql(
      `mutation($name: String!) { createDataset(input: { name: $name }) { id } }`,
      {
        name,
      },
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  }

  async function post(
    path: string,
    body: string | Buffer,
    opts: { key?: string | null; headers?: Record<string, string>; url?: string } = {},
  ): Promise<{ status: number; body: any }> {
    const key = opts.key === undefined ? t.keys.write : opts.key;
    const res = await fetch(`${opts.url ?? t.url}/v1${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...opts.headers,
      },
      body,
    });
    return { status: res.status, body: await res.json() };
  }

  async function get(
    path: string,
    key: string | null = t.keys.read,
  ): Promise<{ status: number; contentType: string | null; text: string }> {
    const res = await fetch(`${t.url}/v1${path}`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      text: await res.text(),
    };
  }

  async function exported(path: string): Promise<any[]> {
    const res = await get(path);
    assert.equal(res.status, 200, res.text);
    return res.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  async function countSamples(dataset: string, ds = t.server.ds): Promise<number> {
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = $1`,
      [dataset],
    );
    return n;
  }

  async function countTraces(dataset: string): Promise<number> {
    const [{ n }] = await t.server.ds.query(
      `SELECT count(*)::int AS n FROM traces t JOIN samples s ON s.id = t.sample_id
       JOIN datasets d ON d.id = s.dataset_id WHERE d.name = $1`,
      [dataset],
    );
    return n;
  }

  function assertBadInput(res: { status: number; body: RestError }, pattern: RegExp): void {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'BAD_USER_INPUT');
    assert.match(res.body.error.message, pattern);
  }

  it('imports a samples file then a traces file and reports what was inserted', async () => {
    await createDataset('counts');
    const samples = range(100).map((i) => sample(i));
    const s = await post('/datasets/counts/samples', ndjson(samples));
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.deepEqual(s.body, {
      inserted: 100,
      existing: 0,
      duplicateCount: 0,
      duplicates: [],
      ...NO_REPEATS,
    });

    const traces = range(300).map((i) => trace(i, `s${(i % 100) + 1}`));
    const tr = await post('/datasets/counts/traces', ndjson(traces));
    assert.equal(tr.status, 200, JSON.stringify(tr.body));
    assert.deepEqual(tr.body, { inserted: 300, existing: 0, ...NO_REPEATS });

    assert.equal(await countSamples('counts'), 100);
    assert.equal(await countTraces('counts'), 300);
  });

  it('re-importing the same files inserts nothing and counts every line as existing', async () => {
    await createDataset('idem');
    const samples = ndjson(range(50).map((i) => sample(i)));
    // Every fourth trace has no externalId: its idempotency key is the hash of its content.
    const traces = ndjson(range(120).map((i) => trace(i, `s${(i % 50) + 1}`)));
    assert.equal((await post('/datasets/idem/samples', samples)).body.inserted, 50);
    assert.equal((await post('/datasets/idem/traces', traces)).body.inserted, 120);

    const s2 = await post('/datasets/idem/samples', samples);
    assert.deepEqual(s2.body, {
      inserted: 0,
      existing: 50,
      duplicateCount: 0,
      duplicates: [],
      ...NO_REPEATS,
    });
    const t2 = await post('/datasets/idem/traces', traces);
    assert.deepEqual(t2.body, { inserted: 0, existing: 120, ...NO_REPEATS });
    assert.equal(await countSamples('idem'), 50);
    assert.equal(await countTraces('idem'), 120);
  });

  it('reports samples whose problem is already in the dataset as duplicates and skips them', async () => {
    await createDataset('dups');
    await post('/datasets/dups/samples', ndjson([sample(1, 'a'), sample(2, 'a')]));
    const res = await post(
      '/datasets/dups/samples',
      ndjson([
        sample(3, 'a'),
        // Same problem as a1, differing only in case and whitespace: a duplicate of a stored one.
        { ...sample(1, 'b'), problem: `  ${sample(1, 'a').problem.toUpperCase()}  ` },
        sample(4, 'a'),
        // Same problem as a3 from this very file.
        { ...sample(3, 'c'), problem: sample(3, 'a').problem },
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      inserted: 2,
      existing: 0,
      duplicateCount: 2,
      duplicates: [
        { line: 2, externalId: 'b1', duplicateOfExternalId: 'a1' },
        { line: 4, externalId: 'c3', duplicateOfExternalId: 'a3' },
      ],
      ...NO_REPEATS,
    });
    assert.equal(await countSamples('dups'), 4);
  });

  describe('a malformed line late in a big file', () => {
    const LINES = 6_000;
    const BAD = 5_000;

    before(async () => {
      await createDataset('strict');
      // The samples the trace files point at, and one in another dataset with a tempting name.
      await post('/datasets/strict/samples', ndjson(range(200).map((i) => sample(i))));
      await createDataset('other');
      await post('/datasets/other/samples', ndjson([sample(1, 'elsewhere')]));
    });

    /** A file of LINES good lines whose line BAD is replaced by `bad` (already serialised). */
    function fileWith(good: (i: number) => unknown, bad: string): string {
      return range(LINES)
        .map((i) => (i === BAD ? bad : JSON.stringify(good(i))))
        .join('\n');
    }
    const goodSample = (i: number) => ({
      ...sample(i, 'x'),
      problem: `${sample(i, 'x').problem} ${'padding '.repeat(20)}`,
    });
    const goodTrace = (i: number) => trace(i, `s${(i % 200) + 1}`);

    const sampleCases: [string, string, RegExp][] = [
      ['is not JSON', '{"externalId": "x5000", "problem": ', /^line 5000: not valid JSON/],
      [
        'lacks a required field',
        JSON.stringify({ externalId: 'x5000', answer: '1' }),
        /^line 5000: problem: /,
      ],
      [
        'has an unknown field',
        JSON.stringify({ ...sample(5000, 'x'), problme: 'typo' }),
        /^line 5000: .*problme/,
      ],
    ];
    for (const [what, bad, pattern] of sampleCases) {
      it(`rejects a samples file whose line 5000 ${what} with BAD_USER_INPUT and writes nothing`, async () => {
        const res = await post('/datasets/strict/samples', fileWith(goodSample, bad));
        assertBadInput(res, pattern);
        assert.equal(res.body.error.line, BAD);
        assert.equal(await countSamples('strict'), 200);
      });
    }

    it("names the unknown key in the error's field", async () => {
      const res = await post(
        '/datasets/strict/samples',
        fileWith(goodSample, JSON.stringify({ ...sample(5000, 'x'), problme: 'typo' })),
      );
      assertBadInput(res, /^line 5000: Unrecognized key: "problme"/);
      assert.equal(res.body.error.field, 'problme');
    });

    const traceCases: [string, string, RegExp][] = [
      ['is not JSON', 'not json at all', /^line 5000: not valid JSON/],
      [
        'lacks a required field',
        JSON.stringify({ sampleExternalId: 's1', kind: 'TEACHER' }),
        /^line 5000: text: /,
      ],
      [
        'has an unknown field',
        JSON.stringify({ ...trace(5000, 's1'), grade: 1 }),
        /^line 5000: .*grade/,
      ],
      [
        'has a kind that does not exist',
        JSON.stringify({ ...trace(5000, 's1'), kind: 'GUESS' }),
        /^line 5000: kind: /,
      ],
      [
        'names a sample the dataset does not have',
        // elsewhere1 exists, but in another dataset.
        JSON.stringify(trace(5000, 'elsewhere1')),
        /^line 5000: the dataset has no sample with externalId "elsewhere1"/,
      ],
    ];
    for (const [what, bad, pattern] of traceCases) {
      it(`rejects a traces file whose line 5000 ${what} with BAD_USER_INPUT and writes nothing`, async () => {
        const res = await post('/datasets/strict/traces', fileWith(goodTrace, bad));
        assertBadInput(res, pattern);
        assert.equal(res.body.error.line, BAD);
        assert.equal(await countTraces('strict'), 0);
      });
    }

    it('imports the same big file once the bad line is fixed', async () => {
      const res = await post(
        '/datasets/strict/traces',
        fileWith(goodTrace, JSON.stringify(goodTrace(BAD))),
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { inserted: LINES, existing: 0, ...NO_REPEATS });
      assert.equal(await countTraces('strict'), LINES);
    });
  });

  it('rejects a trace line with an out-of-range or mistyped value, naming the field', async () => {
    await createDataset('fields');
    await post('/datasets/fields/samples', ndjson([sample(1)]));
    const cases: [string, unknown][] = [
      ['sampleExternalId', ''],
      ['externalId', ''],
      ['text', 42],
      ['finalAnswer', 'x'.repeat(10_001)],
      ['correct', 'true'],
      ['reward', '1'],
      ['graderVersion', 'g'.repeat(65)],
      ['producer', 7],
      ['tokenCount', 1.5],
      ['tokenCount', -1],
      ['metadata', null],
      ['metadata', [1, 2]],
      ['metadata', { big: 'x'.repeat(64_001) }],
    ];
    for (const [field, value] of cases) {
      const body = ndjson([trace(1, 's1'), { ...trace(2, 's1'), [field]: value }]);
      const res = await post('/datasets/fields/traces', body);
      assertBadInput(res, /^line 2: /);
      assert.equal(res.body.error.line, 2, `${field}=${JSON.stringify(value)}`);
      assert.equal(res.body.error.field, field, `${field}=${JSON.stringify(value)}`);
    }
    assert.equal(await countTraces('fields'), 0);
  });

  it('answers NOT_FOUND for a dataset that does not exist', async () => {
    const res = await post('/datasets/nope/samples', ndjson([sample(1)]));
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
    const tr = await post('/datasets/nope/traces', ndjson([trace(1, 's1')]));
    assert.equal(tr.status, 404);
    assert.equal(tr.body.error.code, 'NOT_FOUND');
    const exp = await get('/datasets/nope/samples');
    assert.equal(exp.status, 404);
    assert.equal((JSON.parse(exp.text) as RestError).error.code, 'NOT_FOUND');
  });

  it('refuses an import with a READ key as FORBIDDEN and writes nothing', async () => {
    await createDataset('readonly');
    const res = await post('/datasets/readonly/samples', ndjson([sample(1)]), { key: t.keys.read });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'FORBIDDEN');
    const tr = await post('/datasets/readonly/traces', ndjson([trace(1, 's1')]), {
      key: t.keys.read,
    });
    assert.equal(tr.status, 403);
    assert.equal(tr.body.error.code, 'FORBIDDEN');
    assert.equal(await countSamples('readonly'), 0);
  });

  it('refuses a request without an API key as UNAUTHENTICATED', async () => {
    await createDataset('nokey');
    const res = await post('/datasets/nokey/samples', ndjson([sample(1)]), { key: null });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHENTICATED');
    const exp = await get('/datasets/nokey/samples', null);
    assert.equal(exp.status, 401);
    assert.equal((JSON.parse(exp.text) as RestError).error.code, 'UNAUTHENTICATED');
    assert.equal(await countSamples('nokey'), 0);
  });

  describe('with a body limit of 1000 bytes', () => {
    let small: TestServer;
    before(async () => {
      small = await startTestServer({ NDJSON_BODY_LIMIT_BYTES: '1000' });
      const res = await small.gql(`mutation { createDataset(input: { name: "tiny" }) { id } }`);
      assert.equal(res.errors, undefined);
    });
    after(() => small.close());

    it('answers 413 for a larger body and writes nothing', async () => {
      const body = ndjson(range(40).map((i) => sample(i)));
      assert.ok(body.length > 1000);
      const res = await post('/datasets/tiny/samples', body, {
        key: small.keys.write,
        url: small.url,
      });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'BAD_USER_INPUT');
      assert.equal(res.body.error.limitBytes, 1000);
      assert.equal(await countSamples('tiny', small.server.ds), 0);
    });

    it('answers 413 for a body megabytes over the limit without waiting to read it all', async () => {
      const body = ndjson(range(30_000).map((i) => sample(i)));
      assert.ok(body.length > 5_000_000);
      const res = await post('/datasets/tiny/samples', body, {
        key: small.keys.write,
        url: small.url,
      });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'BAD_USER_INPUT');
      assert.equal(await countSamples('tiny', small.server.ds), 0);
    });

    it('counts the limit on the gunzipped body, so a small gzip of a large body gets 413', async () => {
      const body = gzipSync(ndjson(Array.from({ length: 500 }, () => sample(1))));
      assert.ok(body.length < 1000);
      const res = await post('/datasets/tiny/samples', body, {
        key: small.keys.write,
        url: small.url,
        headers: { 'content-encoding': 'gzip' },
      });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(await countSamples('tiny', small.server.ds), 0);
    });

    it('still imports a body under the limit', async () => {
      const body = ndjson([sample(1), sample(2)]);
      assert.ok(body.length < 1000);
      const res = await post('/datasets/tiny/samples', body, {
        key: small.keys.write,
        url: small.url,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.inserted, 2);
    });
  });

  it('imports a gzip body sent with Content-Encoding: gzip', async () => {
    await createDataset('gz');
    const res = await post(
      '/datasets/gz/samples',
      gzipSync(ndjson(range(500).map((i) => sample(i)))),
      {
        headers: { 'content-encoding': 'gzip' },
      },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.inserted, 500);
    const tr = await post(
      '/datasets/gz/traces',
      gzipSync(ndjson(range(500).map((i) => trace(i, `s${i}`)))),
      { headers: { 'content-encoding': 'gzip' } },
    );
    assert.equal(tr.status, 200, JSON.stringify(tr.body));
    assert.equal(tr.body.inserted, 500);
    assert.equal(await countTraces('gz'), 500);
  });

  it('rejects a body that claims gzip but is not, or an unsupported encoding, as BAD_USER_INPUT', async () => {
    await createDataset('badgz');
    const notGzip = await post('/datasets/badgz/samples', ndjson([sample(1)]), {
      headers: { 'content-encoding': 'gzip' },
    });
    assertBadInput(notGzip, /gzip/);
    const br = await post('/datasets/badgz/samples', ndjson([sample(1)]), {
      headers: { 'content-encoding': 'br' },
    });
    assertBadInput(br, /Content-Encoding br/);
    assert.equal(await countSamples('badgz'), 0);
  });

  it('rejects an empty body, or one of blank lines only, as BAD_USER_INPUT', async () => {
    await createDataset('empty');
    assertBadInput(await post('/datasets/empty/samples', ''), /no NDJSON lines/);
    assertBadInput(await post('/datasets/empty/traces', ''), /no NDJSON lines/);
    assertBadInput(await post('/datasets/empty/samples', '\n  \n\r\n'), /no NDJSON lines/);
  });

  it('skips blank lines but keeps counting them in line numbers', async () => {
    await createDataset('blanks');
    const good = `${JSON.stringify(sample(1))}\n\n  \n${JSON.stringify(sample(2))}\n\n`;
    const ok = await post('/datasets/blanks/samples', good);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.inserted, 2);
    const bad = `${JSON.stringify(sample(3))}\n\n${JSON.stringify(sample(4))}\n{oops}\n`;
    const res = await post('/datasets/blanks/samples', bad);
    assertBadInput(res, /^line 4: /);
    assert.equal(res.body.error.line, 4);
    assert.equal(await countSamples('blanks'), 2);
  });

  it('reports an externalId repeated inside one samples file as a repeat of its first line, not as existing', async () => {
    await createDataset('repeats');
    const stored = await post('/datasets/repeats/samples', ndjson([sample(1, 'r')]));
    assert.equal(stored.body.inserted, 1);
    const res = await post(
      '/datasets/repeats/samples',
      ndjson([
        sample(2, 'r'),
        sample(1, 'r'), // already stored: existing
        { ...sample(2, 'r'), problem: 'a different problem under a repeated id' },
        sample(3, 'r'),
        sample(1, 'r'), // stored, and repeated in this file: a repeat of line 2
        sample(2, 'r'),
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      inserted: 2,
      existing: 1,
      duplicateCount: 0,
      duplicates: [],
      repeatedCount: 3,
      repeated: [
        { line: 3, externalId: 'r2', duplicateOfLine: 1 },
        { line: 5, externalId: 'r1', duplicateOfLine: 2 },
        { line: 6, externalId: 'r2', duplicateOfLine: 1 },
      ],
    });
    assert.equal(await countSamples('repeats'), 3);
    const rows = await exported('/datasets/repeats/samples');
    // The first line of a repeated id is the one stored.
    assert.equal(rows.find((r) => r.externalId === 'r2').problem, sample(2, 'r').problem);
  });

  it('reports a (sample, externalId) repeated inside one traces file as a repeat', async () => {
    await createDataset('trepeats');
    await post('/datasets/trepeats/samples', ndjson([sample(1), sample(2)]));
    const res = await post(
      '/datasets/trepeats/traces',
      ndjson([
        trace(1, 's1'),
        trace(1, 's2'), // same externalId on another sample: a new trace
        trace(1, 's1'),
        trace(4, 's1'), // no externalId: the content hash is the key
        trace(4, 's1'),
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.inserted, 3);
    assert.equal(res.body.existing, 0);
    assert.equal(res.body.repeatedCount, 2);
    assert.deepEqual(res.body.repeated[0], { line: 3, externalId: 't1', duplicateOfLine: 1 });
    assert.equal(res.body.repeated[1].line, 5);
    assert.equal(res.body.repeated[1].duplicateOfLine, 4);
    assert.match(res.body.repeated[1].externalId, /^h:/);
    assert.equal(await countTraces('trepeats'), 3);
  });

  it('re-importing stored traces grades none of them: existing ones are found first', async () => {
    await createDataset('regrade');
    await post('/datasets/regrade/samples', ndjson(range(20).map((i) => sample(i))));
    // No grade sent: the API grades each new trace on the way in.
    const traces = range(40).map((i) => ({ ...trace(i, `s${(i % 20) + 1}`), correct: null }));
    const first = await post('/datasets/regrade/traces', ndjson(traces));
    assert.equal(first.body.inserted, 40);
    const fetched: string[] = [];
    t.counter.onQuery = (q) => {
      if (/FETCH \d+ FROM stage_grading/.test(q)) fetched.push(q);
    };
    try {
      const again = await post('/datasets/regrade/traces', ndjson(traces));
      assert.deepEqual(again.body, { inserted: 0, existing: 40, ...NO_REPEATS });
    } finally {
      t.counter.onQuery = undefined;
    }
    // One FETCH that finds the grading cursor empty; before, every trace was fetched and graded.
    assert.equal(fetched.length, 1);
  });

  describe('hostile lines', () => {
    it('refuses a NUL or a lone surrogate in any field, naming the line and the field', async () => {
      await createDataset('nul');
      const nulProblem = `${JSON.stringify(sample(1))}\n${JSON.stringify({ ...sample(2), problem: 'a\u0000b' })}\n`;
      const res = await post('/datasets/nul/samples', nulProblem);
      assertBadInput(res, /^line 2: problem: contains a NUL/);
      assert.equal(res.body.error.line, 2);
      assert.equal(res.body.error.field, 'problem');
      const key = await post(
        '/datasets/nul/samples',
        ndjson([{ ...sample(3), metadata: { ['k\u0000']: 1 } }]),
      );
      assertBadInput(key, /^line 1: metadata \(a key\): contains a NUL/);
      const tag = await post(
        '/datasets/nul/samples',
        ndjson([{ ...sample(4), tags: ['ok', '\udc00x'] }]),
      );
      assertBadInput(tag, /^line 1: tags\.1: contains a lone UTF-16 surrogate/);
      await post('/datasets/nul/samples', ndjson([sample(5)]));
      const trace = await post('/datasets/nul/traces', ndjson([{ ...trace0(), text: '\u0000' }]));
      assertBadInput(trace, /^line 1: text: contains a NUL/);
      assert.equal(await countSamples('nul'), 1);
      assert.equal(await countTraces('nul'), 0);
    });

    it('refuses metadata nested deeper than JSON_MAX_DEPTH, naming the line', async () => {
      await createDataset('deep');
      let nested: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 100; i++) nested = { n: nested };
      const res = await post(
        '/datasets/deep/samples',
        ndjson([sample(1), { ...sample(2), metadata: nested }]),
      );
      assertBadInput(res, /^line 2: metadata(\.n)+: nested deeper than the limit of 64 levels/);
      assert.equal(await countSamples('deep'), 0);
    });

    it('refuses bytes that are not UTF-8 instead of storing U+FFFD', async () => {
      await createDataset('latin1');
      const body = Buffer.concat([
        Buffer.from(`${JSON.stringify(sample(1))}\n{"externalId":"x","problem":"caf`),
        Buffer.from([0xe9]),
        Buffer.from('","answer":"1"}\n'),
      ]);
      assertBadInput(await post('/datasets/latin1/samples', body), /^line 2: not valid UTF-8/);
      assert.equal(await countSamples('latin1'), 0);
    });

    it('refuses a body in a charset other than UTF-8 with 415', async () => {
      await createDataset('koi8');
      const res = await post('/datasets/koi8/samples', ndjson([sample(1)]), {
        headers: { 'content-type': 'application/x-ndjson; charset=koi8-r' },
      });
      assert.equal(res.status, 415, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'BAD_USER_INPUT');
      const utf8 = await post('/datasets/koi8/samples', ndjson([sample(1)]), {
        headers: { 'content-type': 'application/x-ndjson; charset=UTF-8' },
      });
      assert.equal(utf8.status, 200, JSON.stringify(utf8.body));
    });

    it('answers 400 for malformed percent-encoding in the path and a NUL in an export filter', async () => {
      const bad = await get('/datasets/%ff/samples');
      assert.equal(bad.status, 400, bad.text);
      assert.equal(JSON.parse(bad.text).error.code, 'BAD_USER_INPUT');
      const nul = await get('/datasets/counts/samples?problemContains=a%00b');
      assert.equal(nul.status, 400, nul.text);
      assert.match(JSON.parse(nul.text).error.message, /query\.problemContains: contains a NUL/);
      const trNul = await get('/datasets/counts/traces?producer=%00');
      assert.equal(trNul.status, 400, trNul.text);
      const name = await get('/datasets/a%00b/samples');
      assert.equal(name.status, 400, name.text);
    });
  });

  describe('export', () => {
    const samples = range(60).map((i) => sample(i));
    const gold = new Map(samples.map((s) => [s.externalId, s.answer]));
    /**
     * A trace as the API stores it: one imported without a grade is graded on the way in
     * against its sample's gold answer (what it was imported with is kept).
     */
    const stored = (tr: TraceLine): TraceLine => {
      if (tr.correct !== null && tr.correct !== undefined) return tr;
      const g = grade(tr.text, gold.get(tr.sampleExternalId)!);
      return {
        ...tr,
        finalAnswer: tr.finalAnswer ?? g.extracted,
        correct: g.correct,
        reward: tr.reward ?? (g.correct ? 1 : 0),
        graderVersion: tr.graderVersion ?? GRADER_VERSION,
      };
    };
    const traces = range(150).map((i) => trace(i, `s${(i % 60) + 1}`));
    const storedTraces = traces.map(stored);

    before(async () => {
      await createDataset('roundtrip');
      // Another dataset's rows must not leak into this one's export.
      await createDataset('noise');
      assert.equal((await post('/datasets/noise/samples', ndjson(samples))).status, 200);
      assert.equal((await post('/datasets/noise/traces', ndjson(traces))).status, 200);
      assert.equal((await post('/datasets/roundtrip/samples', ndjson(samples))).status, 200);
      assert.equal((await post('/datasets/roundtrip/traces', ndjson(traces))).status, 200);
    });

    it('sends an export of several 64 KiB chunks whole: every line once, in order, none split', async () => {
      const many = range(900).map((i) => ({
        ...sample(i, 'big'),
        metadata: { pad: 'x'.repeat(200) },
      }));
      await createDataset('chunked');
      assert.equal((await post('/datasets/chunked/samples', ndjson(many))).status, 200);
      const res = await get('/datasets/chunked/samples');
      assert.equal(res.status, 200);
      assert.ok(Buffer.byteLength(res.text) > 3 * 64 * 1024, 'the export spans several chunks');
      assert.ok(res.text.endsWith('\n'), 'the last line is sent, newline included');
      const rows = res.text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.map((r) => r.externalId),
        many.map((m) => m.externalId),
      );
    });

    it('returns every imported sample, in file order, with the fields it was imported with', async () => {
      const rows = await exported('/datasets/roundtrip/samples');
      assert.equal(rows.length, samples.length);
      rows.forEach((row, k) => {
        const s = samples[k];
        assert.deepEqual(
          {
            externalId: row.externalId,
            problem: row.problem,
            answer: row.answer,
            domain: row.domain,
            tags: row.tags,
            metadata: row.metadata,
          },
          {
            externalId: s.externalId,
            problem: s.problem,
            answer: s.answer,
            domain: s.domain ?? null,
            tags: s.tags ?? [],
            metadata: s.metadata ?? {},
          },
        );
        assert.match(row.id, /\S/);
        assert.match(row.contentHash, /^[0-9a-f]{64}$/);
      });
    });

    it('returns every imported trace, in file order, with the fields it was imported with', async () => {
      const rows = await exported('/datasets/roundtrip/traces');
      assert.equal(rows.length, traces.length);
      const sampleIds = new Map(
        (await exported('/datasets/roundtrip/samples')).map((s) => [s.externalId, s.id]),
      );
      rows.forEach((row, k) => {
        const tr = storedTraces[k];
        assert.deepEqual(
          {
            sampleExternalId: row.sampleExternalId,
            kind: row.kind,
            text: row.text,
            finalAnswer: row.finalAnswer,
            correct: row.correct,
            reward: row.reward,
            graderVersion: row.graderVersion,
            producer: row.producer,
            tokenCount: row.tokenCount,
            metadata: row.metadata,
          },
          {
            sampleExternalId: tr.sampleExternalId,
            kind: tr.kind,
            text: tr.text,
            finalAnswer: tr.finalAnswer ?? null,
            correct: tr.correct ?? null,
            reward: tr.reward ?? null,
            graderVersion: tr.graderVersion ?? null,
            producer: tr.producer ?? null,
            tokenCount: tr.tokenCount ?? null,
            metadata: tr.metadata ?? {},
          },
        );
        if (tr.externalId) assert.equal(row.externalId, tr.externalId);
        else assert.match(row.externalId, /^h:[0-9a-f]{32}$/);
        assert.equal(row.sampleId, sampleIds.get(tr.sampleExternalId));
        assert.equal(row.runId, null);
        assert.equal(row.parentTraceId, null);
      });
    });

    it('filters samples by tagsAny, domain and problemContains', async () => {
      const ids = async (query: string) =>
        (await exported(`/datasets/roundtrip/samples?${query}`)).map((r) => r.externalId);
      const expect = (pred: (s: SampleLine) => boolean) =>
        samples.filter(pred).map((s) => s.externalId);

      assert.deepEqual(
        await ids('tagsAny=mod5-1,mod5-2'),
        expect((s) => !!s.tags?.some((tag) => tag === 'mod5-1' || tag === 'mod5-2')),
      );
      assert.deepEqual(
        await ids('domain=algebra'),
        expect((s) => s.domain === 'algebra'),
      );
      assert.deepEqual(await ids('problemContains=s17%3A'), ['s17']);
      assert.deepEqual(
        await ids(`problemContains=${encodeURIComponent('\\FRAC{4')}`),
        expect((s) => s.problem.includes('\\frac{4')),
      );
      assert.deepEqual(
        await ids('tagsAny=even&domain=geometry'),
        expect((s) => s.domain === 'geometry' && !!s.tags?.includes('even')),
      );
    });

    it('filters traces by kind, correct and producer', async () => {
      const ext = async (query: string) =>
        (await exported(`/datasets/roundtrip/traces?${query}`)).map(
          (r) => `${r.sampleExternalId}|${r.text}`,
        );
      const expect = (pred: (tr: TraceLine) => boolean) =>
        storedTraces.filter(pred).map((tr) => `${tr.sampleExternalId}|${tr.text}`);

      assert.deepEqual(
        await ext('kind=TEACHER'),
        expect((tr) => tr.kind === 'TEACHER'),
      );
      assert.deepEqual(
        await ext('correct=true'),
        expect((tr) => tr.correct === true),
      );
      assert.deepEqual(
        await ext('correct=false'),
        expect((tr) => tr.correct === false),
      );
      assert.deepEqual(
        await ext('producer=student-1b'),
        expect((tr) => tr.producer === 'student-1b'),
      );
      assert.deepEqual(
        await ext('kind=ROLLOUT&correct=true&producer=teacher-70b'),
        expect(
          (tr) => tr.kind === 'ROLLOUT' && tr.correct === true && tr.producer === 'teacher-70b',
        ),
      );
    });

    it('rejects an unknown or malformed query parameter as BAD_USER_INPUT', async () => {
      for (const path of [
        '/datasets/roundtrip/samples?tagz=a',
        '/datasets/roundtrip/traces?kinds=TEACHER',
        '/datasets/roundtrip/traces?kind=GUESS',
        '/datasets/roundtrip/traces?correct=yes',
      ]) {
        const res = await get(path);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.equal((JSON.parse(res.text) as RestError).error.code, 'BAD_USER_INPUT', path);
      }
    });

    it('answers an empty set with an empty body and 200', async () => {
      await createDataset('nothing');
      for (const path of [
        '/datasets/nothing/samples',
        '/datasets/nothing/traces',
        '/datasets/roundtrip/samples?domain=topology',
        '/datasets/roundtrip/traces?producer=nobody',
      ]) {
        const res = await get(path);
        assert.equal(res.status, 200, path);
        assert.equal(res.text, '', path);
        assert.match(res.contentType ?? '', /application\/x-ndjson/, path);
      }
    });
  });
});
