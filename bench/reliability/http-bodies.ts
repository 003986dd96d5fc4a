/**
 * Generated bodies for the REST edges: NDJSON imports (odd text, broken JSON, invalid UTF-8,
 * deep nesting, over-long lines, gzip good and corrupt), NDJSON exports with hostile query
 * strings, and the runner endpoints' JSON bodies.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { deepJsonText, extremeFloat, extremeInt, hostileJson, oddString } from './hostile-values';

export interface HttpRequest {
  /** `POST /v1/datasets/:name/samples`, for the report. */
  label: string;
  method: 'GET' | 'POST';
  /** Path and query, percent-encoding done (or deliberately broken). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** A JSON line for an NDJSON import: mostly the right shape with hostile values. */
const sampleLine = fc.record(
  {
    externalId: fc.oneof(oddString, fc.uuid()),
    problem: oddString,
    answer: oddString,
    domain: fc.option(oddString),
    tags: fc.array(oddString, { maxLength: 3 }),
    metadata: hostileJson,
  },
  { requiredKeys: [] },
);

const traceLine = fc.record(
  {
    sampleExternalId: fc.oneof(oddString, fc.constantFrom('s-1', 's-2')),
    externalId: fc.option(oddString),
    kind: fc.oneof(fc.constantFrom('TEACHER', 'ROLLOUT', 'BRIDGED'), oddString),
    text: oddString,
    finalAnswer: fc.option(oddString),
    correct: fc.option(fc.boolean()),
    reward: fc.option(extremeFloat),
    tokenCount: fc.option(extremeInt),
    metadata: hostileJson,
  },
  { requiredKeys: [] },
);

/** One line's bytes: JSON text, or something that is not valid JSON or not valid UTF-8. */
const lineBytes: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(sampleLine, traceLine).map((o) => Buffer.from(JSON.stringify(o))),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom('{', '}', 'null', '[]', '"x"', '{"a":1,}', '\u0000', ''),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.integer({ min: 100, max: 20_000 }).map(deepJsonText),
      )
      .map((s) => Buffer.from(s)),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((bytes) =>
        Buffer.concat([Buffer.from('{"problem":"'), Buffer.from(bytes), Buffer.from('"}')]),
      ),
  },
  // Raw lone surrogate and invalid UTF-8 sequences inside a JSON string.
  {
    weight: 1,
    arbitrary: fc
      .constantFrom([0xed, 0xa0, 0x80], [0xff], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80])
      .map((b) =>
        Buffer.concat([
          Buffer.from('{"externalId":"u","problem":"'),
          Buffer.from(b),
          Buffer.from('","answer":"1"}'),
        ]),
      ),
  },
);

/** A whole body: lines, separators, sometimes a line past the length limit, sometimes gzip. */
const ndjsonBody: fc.Arbitrary<{ body: Buffer; headers: Record<string, string> }> = fc
  .record({
    lines: fc.array(lineBytes, { minLength: 0, maxLength: 12 }),
    sep: fc.constantFrom('\n', '\r\n', '\n\n'),
    longLine: fc.oneof(
      { weight: 20, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constantFrom(9 << 20, 1 << 20) },
    ),
    encoding: fc.constantFrom(
      'none',
      'none',
      'none',
      'gzip',
      'corrupt-gzip',
      'deflate-claimed',
      'bogus',
    ),
    contentType: fc.constantFrom(
      'application/x-ndjson',
      'application/x-ndjson; charset=utf-8',
      'application/x-ndjson; charset=klingon',
      'text/plain',
      'application/json',
    ),
  })
  .map(({ lines, sep, longLine, encoding, contentType }) => {
    const parts = [...lines];
    if (longLine) parts.push(Buffer.from(`{"problem":"${'y'.repeat(longLine)}"}`));
    let body = Buffer.concat(parts.flatMap((l) => [l, Buffer.from(sep)]));
    const headers: Record<string, string> = { 'content-type': contentType };
    if (encoding === 'gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    } else if (encoding === 'corrupt-gzip') {
      const z = gzipSync(body);
      body = Buffer.concat([z.subarray(0, Math.max(10, z.length >> 1)), Buffer.from('garbage')]);
      headers['content-encoding'] = 'gzip';
    } else if (encoding === 'deflate-claimed') {
      headers['content-encoding'] = 'deflate';
    } else if (encoding === 'bogus') {
      headers['content-encoding'] = 'br, zstd, x-unknown';
    }
    return { body, headers };
  });

/** Percent-encoded text; a lone surrogate cannot be encoded, so it becomes `x` (others test it). */
function encodeOrX(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return 'x';
  }
}

/** Dataset names as they appear in paths: the real one, unknown ones, broken percent-encoding. */
function datasetSegment(real: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(real) },
    { weight: 1, arbitrary: oddString.filter((s) => s.length < 200).map((s) => encodeOrX(s)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%ff', '%', '%zz', '%00', '%ed%a0%80', '..', '%2e%2e'),
    },
  );
}

/** Query strings for the exports: odd values, repeated and broken parameters. */
const exportQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'problemContains',
        'tagsAny',
        'tagsAll',
        'domain',
        'kind',
        'runId',
        'passRateMin',
        'passRateCheckpointId',
        'limit',
        'x',
      ),
      fc.oneof(
        oddString.filter((s) => s.length < 500).map((s) => encodeOrX(s)),
        fc.constantFrom('%00', '%ff', '%ed%a0%80', '%', '1e999', '-1', 'NaN'),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&') : ''));

export function bulkRequestArbitrary(dataset: string, keys: string[]): fc.Arbitrary<HttpRequest> {
  const auth = fc
    .constantFrom(...keys)
    .map((k): Record<string, string> => (k ? { authorization: `Bearer ${k}` } : {}));
  const importReq = fc
    .record({
      name: datasetSegment(dataset),
      what: fc.constantFrom('samples', 'traces'),
      body: ndjsonBody,
      auth,
    })
    .map(({ name, what, body, auth }) => ({
      label: `POST /v1/datasets/:name/${what}`,
      method: 'POST' as const,
      path: `/v1/datasets/${name}/${what}`,
      headers: { ...auth, ...body.headers },
      body: body.body,
    }));
  const exportReq = fc
    .record({
      name: datasetSegment(dataset),
      what: fc.constantFrom('samples', 'traces', 'samples.parquet'),
      q: exportQuery,
      auth,
    })
    .map(({ name, what, q, auth }) => ({
      label: `GET /v1/datasets/:name/${what}`,
      method: 'GET' as const,
      path: `/v1/datasets/${name}/${what}${q}`,
      headers: auth,
    }));
  return fc.oneof({ weight: 3, arbitrary: importReq }, { weight: 1, arbitrary: exportReq });
}

/** A runner event: right shape, hostile payloads, seqs anywhere. */
const runnerEvent = fc.record(
  {
    seq: fc.oneof(fc.integer({ min: 1, max: 10_000 }), extremeInt),
    type: fc.oneof(fc.constantFrom('LOG', 'PROGRESS', 'METRIC', 'STATUS', 'ARTIFACT'), oddString),
    payload: fc.oneof(
      fc.record({ line: oddString }),
      fc.record({
        status: fc.constantFrom('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'BOGUS'),
        message: oddString,
      }),
      fc.record({ step: extremeInt, loss: extremeFloat }),
      hostileJson,
    ),
    at: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      oddString,
    ),
  },
  { requiredKeys: ['seq', 'type', 'payload'] },
);

const runnerBody: fc.Arbitrary<{ endpoint: string; body: unknown }> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(runnerEvent, { maxLength: 8 })
      .map((events) => ({ endpoint: 'events', body: { events } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record(
        {
          name: oddString,
          uri: oddString,
          baseModel: oddString,
          onnxUri: fc.option(oddString),
          metadata: hostileJson,
        },
        { requiredKeys: [] },
      )
      .map((body) => ({ endpoint: 'checkpoints', body })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('rollouts', 'traces', 'critiques'),
        fc.array(
          fc.dictionary(
            fc.constantFrom(
              'sampleId',
              'text',
              'kind',
              'reward',
              'correct',
              'externalId',
              'traceId',
              'verdict',
              'finalAnswer',
            ),
            fc.oneof(oddString, extremeFloat, fc.boolean(), hostileJson),
          ),
          { maxLength: 4 },
        ),
      )
      .map(([endpoint, items]) => ({ endpoint, body: { [endpoint]: items } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('events', 'checkpoints', 'traces'), hostileJson)
      .map(([endpoint, body]) => ({ endpoint, body })),
  },
);

export function runnerRequestArbitrary(
  runPath: string,
  token: string,
  otherKeys: string[],
): fc.Arbitrary<HttpRequest> {
  const post = fc
    .record({
      b: runnerBody,
      key: fc.oneof(
        { weight: 5, arbitrary: fc.constant(token) },
        { weight: 1, arbitrary: fc.constantFrom(...otherKeys) },
      ),
      raw: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '{',
            '{"events":[{"seq":1,"type":"LOG","payload":{"line":"\\u0000"}}]}',
            '\u0000',
            '{"events":',
          ),
        },
      ),
    })
    .map(({ b, key, raw }) => ({
      label: `POST /v1/runs/:id/${b.endpoint}`,
      method: 'POST' as const,
      path: `${runPath}/${b.endpoint}`,
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: Buffer.from(raw ?? JSON.stringify(b.body) ?? 'null'),
    }));
  const get = fc.constantFrom('spec', 'manifest').map((what) => ({
    label: `GET /v1/runs/:id/${what}`,
    method: 'GET' as const,
    path: `${runPath}/${what}`,
    headers: { authorization: `Bearer ${token}` },
  }));
  return fc.oneof({ weight: 8, arbitrary: post }, { weight: 1, arbitrary: get });
}
