/**
 * Benchmark: importing traces through POST /v1/datasets/{name}/traces against a real server,
 * next to a raw `COPY traces (...) FROM STDIN` of the same rows into the same table of a fresh
 * database on the same PostgreSQL. Prints rows/s for each and the ratio endpoint/raw.
 *
 *   node dist/bench/import-traces.js [--rows 1000000] [--samples 10000]
 *
 * PostgreSQL: TEST_DATABASE_URL (an admin URL; a database is created and dropped per phase),
 * otherwise a throwaway embedded server. Both bodies are generated to temp files before the
 * clock starts, so neither number includes making up the data, and both stream from disk: the
 * NDJSON file into the HTTP request, the COPY file into pg-copy-streams. The API server runs in
 * this process, as in the tests.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startEmbeddedPostgres } from '../src/common/db/embedded-postgres';
import { traceCopyValues, type StagedTrace } from '../src/modules/traces/trace.import';
import type { TraceKind } from '../src/modules/traces/trace.entity';
import { startTestServer, type TestServer } from '../tests/helpers/test-server';
import { freePort } from '../src/common/net';

interface Args {
  rows: number;
  samples: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: 1_000_000, samples: 0 };
  for (let k = 0; k < argv.length; k += 1) {
    const flag = argv[k];
    const value = Number(argv[k + 1]);
    if ((flag === '--rows' || flag === '--samples') && Number.isInteger(value) && value > 0) {
      args[flag === '--rows' ? 'rows' : 'samples'] = value;
      k += 1;
    } else {
      throw new Error(`usage: import-traces [--rows N] [--samples M] (got ${flag})`);
    }
  }
  if (!args.samples) args.samples = Math.max(1, Math.ceil(args.rows / 100));
  return args;
}

/** A small seeded PRNG (mulberry32): the same rows every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = [
  'TEACHER',
  'ROLLOUT',
  'ROLLOUT',
  'ROLLOUT',
  'BRIDGED',
  'REPAIR',
  'SOLUTION',
] as TraceKind[];
const PRODUCERS = ['teacher-70b', 'student-1b@ckpt-12', 'student-1b@ckpt-13', 'bridge-8b'];
const PHRASES = [
  'Let $x$ be the number of apples.',
  'Then \\frac{x}{2} + 3 = 7, so x = 8.',
  'We check: 8 / 2 + 3 = 7.\n',
  'Substituting into \\sqrt{x^2 + 1} gives',
  'Step 2:\tfactor the quadratic \\left(x - 2\\right)\\left(x + 3\\right).',
  'Wait, that is wrong; recompute.\n\n',
  'Therefore the answer is \\boxed{42}.',
  'By the triangle inequality, |a + b| \\le |a| + |b|.',
  'Hence "n" must be even.\r\n',
  'Consider the path C:\\Users\\student\\notes.txt — irrelevant.',
];

/** A trace line as the endpoint takes it: the staged row without its line number. */
type BenchTrace = Omit<StagedTrace, 'line' | 'metadata'> & { metadata?: Record<string, unknown> };

/** Trace i of the run: ~200-400 chars of text with backslashes and newlines, some nulls. */
function makeTrace(i: number, samples: number, next: () => number): BenchTrace {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const target = 200 + Math.floor(next() * 200);
  let text = `[${i}] `;
  while (text.length < target) text += pick(PHRASES) + ' ';
  text = text.slice(0, target);
  const graded = next() < 0.8;
  const correct = graded ? next() < 0.5 : null;
  return {
    sampleExternalId: `bs${(i % samples) + 1}`,
    externalId: next() < 0.7 ? `t${i}` : null,
    kind: pick(KINDS),
    text,
    finalAnswer: next() < 0.9 ? String(Math.floor(next() * 1000)) : null,
    correct,
    reward: correct === null ? null : correct ? 1 : Math.round(next() * 100) / 100 - 0.5,
    graderVersion: graded && next() < 0.5 ? 'math-verify-0.7' : null,
    producer: next() < 0.9 ? pick(PRODUCERS) : null,
    tokenCount: next() < 0.85 ? 60 + Math.floor(next() * 400) : null,
    metadata: next() < 0.5 ? { temperature: 0.7, seed: i % 97 } : undefined,
  };
}

function* traces(args: Args): Generator<BenchTrace> {
  const next = rng(42);
  for (let i = 1; i <= args.rows; i += 1) yield makeTrace(i, args.samples, next);
}

/** Writes `lines` to a file in ~1 MiB writes, honouring backpressure; returns its size. */
async function writeLines(file: string, lines: Iterable<string>): Promise<number> {
  const out = fs.createWriteStream(file);
  let buffer = '';
  for (const line of lines) {
    buffer += line;
    if (buffer.length >= 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  return fs.statSync(file).size;
}

function* ndjsonLines(args: Args): Generator<string> {
  for (const t of traces(args)) yield JSON.stringify(t) + '\n';
}

/** The same rows as COPY text lines for the columns of RAW_COPY_SQL, with sample ids resolved. */
function* copyLines(args: Args, sampleIds: Map<string, string>): Generator<string> {
  for (const t of traces(args)) {
    yield [sampleIds.get(t.sampleExternalId)!, ...traceCopyValues(t)].join('\t') + '\n';
  }
}

const RAW_COPY_SQL = `COPY traces (sample_id, external_id, kind, text, final_answer, correct, reward,
  grader_version, producer, token_count, metadata) FROM STDIN`;

function sampleNdjson(args: Args): string {
  const lines: string[] = [];
  for (let i = 1; i <= args.samples; i += 1) {
    lines.push(
      JSON.stringify({ externalId: `bs${i}`, problem: `Benchmark problem ${i}`, answer: '42' }),
    );
  }
  return lines.join('\n') + '\n';
}

/** POSTs a file (or a string) as the body; resolves with the status and the parsed JSON. */
async function postBody(
  url: string,
  key: string,
  body: string | fs.ReadStream,
): Promise<{ status: number; body: any }> {
  const req = http.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${key}` },
  });
  const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
  if (typeof body === 'string') req.end(body);
  else await pipeline(body, req);
  const [res] = await response;
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return { status: res.statusCode ?? 0, body: JSON.parse(text) };
}

async function prepare(t: TestServer, args: Args): Promise<void> {
  const created = await t.gql(`mutation { createDataset(input: { name: "bench" }) { id } }`);
  if (created.errors) throw new Error(JSON.stringify(created.errors));
  const res = await postBody(
    `${t.url}/v1/datasets/bench/samples`,
    t.keys.write,
    sampleNdjson(args),
  );
  if (res.status !== 200 || res.body.inserted !== args.samples)
    throw new Error(`sample import failed: ${res.status} ${JSON.stringify(res.body)}`);
  await t.server.ds.query('CHECKPOINT');
}

const REIMPORT = 'POST /v1/datasets/bench/traces (re-import)';

interface Result {
  name: string;
  seconds: number;
  bytes: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-'));
  let stopPg = () => Promise.resolve();
  if (!process.env.TEST_DATABASE_URL) {
    const dataDir = path.join(tmp, 'pg');
    const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    process.env.TEST_DATABASE_URL = embedded.url;
    stopPg = () => embedded.stop();
    console.log('# on an embedded PostgreSQL (no TEST_DATABASE_URL given)');
  }
  const results: Result[] = [];
  try {
    const ndjsonFile = path.join(tmp, 'traces.ndjson');
    let started = Date.now();
    const ndjsonBytes = await writeLines(ndjsonFile, ndjsonLines(args));
    console.log(
      `# generated ${args.rows} traces for ${args.samples} samples: ${mib(ndjsonBytes)} MiB NDJSON in ${secs(started)} s`,
    );

    // (a) The endpoint: HTTP, gunzip-free NDJSON, validation, COPY to staging, one insert.
    const api = await startTestServer();
    try {
      await prepare(api, args);
      started = performance.now();
      const res = await postBody(
        `${api.url}/v1/datasets/bench/traces`,
        api.keys.write,
        fs.createReadStream(ndjsonFile, { highWaterMark: 1 << 20 }),
      );
      const seconds = (performance.now() - started) / 1000;
      if (res.status !== 200 || res.body.inserted !== args.rows)
        throw new Error(`trace import failed: ${res.status} ${JSON.stringify(res.body)}`);
      results.push({ name: 'POST /v1/datasets/bench/traces', seconds, bytes: ndjsonBytes });

      // (a') The same file again: every trace exists already, so nothing is graded or written.
      started = performance.now();
      const again = await postBody(
        `${api.url}/v1/datasets/bench/traces`,
        api.keys.write,
        fs.createReadStream(ndjsonFile, { highWaterMark: 1 << 20 }),
      );
      const reSeconds = (performance.now() - started) / 1000;
      if (again.status !== 200 || again.body.inserted !== 0)
        throw new Error(`trace re-import failed: ${again.status} ${JSON.stringify(again.body)}`);
      results.push({ name: REIMPORT, seconds: reSeconds, bytes: ndjsonBytes });
    } finally {
      await api.close();
    }
    fs.rmSync(ndjsonFile);

    // (b) Raw COPY of the same rows into the same table of a fresh database.
    const raw = await startTestServer();
    try {
      await prepare(raw, args);
      const ids = await raw.server.ds.query<{ external_id: string; id: string }[]>(
        `SELECT external_id, id::text FROM samples`,
      );
      const sampleIds = new Map(ids.map((r) => [r.external_id, r.id]));
      const copyFile = path.join(tmp, 'traces.copy');
      const copyBytes = await writeLines(copyFile, copyLines(args, sampleIds));
      const url = (raw.server.ds.options as { url: string }).url;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        started = performance.now();
        await pipeline(
          fs.createReadStream(copyFile, { highWaterMark: 1 << 20 }),
          client.query(copyFrom(RAW_COPY_SQL)),
        );
        const seconds = (performance.now() - started) / 1000;
        const [{ n }] = (await client.query('SELECT count(*)::int AS n FROM traces')).rows as {
          n: number;
        }[];
        if (n !== args.rows) throw new Error(`raw COPY wrote ${n} rows, not ${args.rows}`);
        results.push({ name: 'raw COPY traces FROM STDIN', seconds, bytes: copyBytes });
      } finally {
        await client.end();
      }
    } finally {
      await raw.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await stopPg();
  }
  printTable(args, results);
}

function mib(bytes: number): string {
  return (bytes / (1 << 20)).toFixed(1);
}

function secs(startedMs: number): string {
  return ((Date.now() - startedMs) / 1000).toFixed(1);
}

function printTable(args: Args, results: Result[]): void {
  const rows = results.map((r) => [
    r.name,
    String(args.rows),
    r.seconds.toFixed(2),
    Math.round(args.rows / r.seconds).toLocaleString('en-US'),
    (r.bytes / (1 << 20) / r.seconds).toFixed(1),
  ]);
  const header = ['path', 'rows', 'seconds', 'rows/s', 'MiB/s'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((r) => console.log(line(r)));
  const [endpoint, copy] = results.filter((r) => r.name !== REIMPORT);
  console.log(`ratio endpoint/raw: ${(copy.seconds / endpoint.seconds).toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
