/**
 * The fuzz check: generated GraphQL requests (from schema.graphql), NDJSON bodies and runner
 * bodies sent to a real API process with keys of every scope, in seeded batches; after every
 * batch `/healthz` must answer and the process must still be alive.
 */
import http from 'node:http';
import fc from 'fast-check';
import { ApiKeyScope } from '../../src/modules/api-keys/api-key.entity';
import { inspectAnswer, type Problem } from './answer-check';
import { Database, startApi, type ApiProcess } from './api-process';
import { bulkRequestArbitrary, runnerRequestArbitrary, type HttpRequest } from './http-bodies';
import {
  loadSchema,
  requestArbitrary,
  rootFieldCount,
  type GraphqlRequest,
} from './schema-requests';

export interface FuzzOptions {
  databaseUrl: string;
  logFile: string;
  runsDir: string;
  schemaFile: string;
  /** GraphQL requests; NDJSON and runner bodies are a quarter of that each. */
  requests: number;
  seed: number;
  batch?: number;
  concurrency?: number;
}

export interface FuzzResult {
  graphql: number;
  ndjson: number;
  runner: number;
  rootFields: number;
  healthChecks: number;
  /** Up to 30 problems, and how many there were in all. */
  problems: Problem[];
  problemCount: number;
  /** Problems counted per request label. */
  byLabel: Record<string, number>;
  apiAlive: boolean;
  /** Uploads over 1 MiB cut by an early refusal (not counted as problems). */
  cutUploads: number;
  secrets: string[];
}

type Sendable =
  { kind: 'graphql'; req: GraphqlRequest; key: string } | { kind: 'http'; req: HttpRequest };

/** Uploads larger than this may be cut by a refusal before they are read (see send). */
const CUT_UPLOAD_BYTES = 1 << 20;
const cutUploads = { n: 0 };

/**
 * One request on a connection of its own (no keep-alive): a request sent on an idle socket the
 * server is just closing would fail on the client's side, not the server's, on a busy machine.
 */
function request(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', (err) => reject(Object.assign(new Error('response cut'), { cause: err })));
      },
    );
    req.on('error', (err) => reject(Object.assign(new Error('no answer'), { cause: err })));
    req.end(body);
  });
}

async function send(url: string, s: Sendable): Promise<Problem[]> {
  const label = s.kind === 'graphql' ? s.req.field : s.req.label;
  try {
    const res =
      s.kind === 'graphql'
        ? await request(
            url,
            'POST',
            '/graphql',
            {
              'content-type': 'application/json',
              ...(s.key ? { authorization: `Bearer ${s.key}` } : {}),
            },
            Buffer.from(JSON.stringify({ query: s.req.query, variables: s.req.variables })),
          )
        : await request(url, s.req.method, s.req.path, s.req.headers, s.req.body);
    return inspectAnswer(label, res.status, res.text);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // A server may answer an over-long upload before reading it and close: the client, still
    // writing, sees the socket cut. Counted apart; any other request must get an answer.
    if (s.kind === 'http' && (s.req.body?.length ?? 0) > CUT_UPLOAD_BYTES) {
      cutUploads.n++;
      return [];
    }
    return [
      {
        what: label,
        status: 0,
        detail: `no answer: ${cause?.code ?? ''} ${cause?.message ?? String(err)}`,
      },
    ];
  }
}

async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const batch = opts.batch ?? 100;
  const concurrency = opts.concurrency ?? 6;
  const schema = loadSchema(opts.schemaFile);
  const api: ApiProcess = await startApi({
    databaseUrl: opts.databaseUrl,
    logFile: opts.logFile,
    runsDir: opts.runsDir,
  });
  const db = await Database.open(opts.databaseUrl);
  const result: FuzzResult = {
    graphql: 0,
    ndjson: 0,
    runner: 0,
    rootFields: rootFieldCount(schema),
    healthChecks: 0,
    problems: [],
    problemCount: 0,
    byLabel: {},
    apiAlive: true,
    cutUploads: 0,
    secrets: [],
  };
  cutUploads.n = 0;
  try {
    // Sacrificial keys first: generated ids like ApiKey:1..5 revoke these, not the fuzzer's own.
    for (let k = 0; k < 5; k++) await db.key(`sacrificial-${k}`, [ApiKeyScope.READ]);
    const keys = await db.keys();
    const runner = await db.runnerRun();
    const allKeys = [keys.read, keys.write, keys.admin, runner.token, ''];
    await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` },
      body: JSON.stringify({
        query: 'mutation { createDataset(input: { name: "fuzz", split: TRAIN }) { id } }',
      }),
    });
    const gqlArb = fc.tuple(requestArbitrary(schema), fc.constantFrom(...allKeys));
    const bulkArb = bulkRequestArbitrary('fuzz', allKeys);
    const runnerArb = runnerRequestArbitrary(`/v1/runs/${runner.runId}`, runner.token, allKeys);

    const record = (problems: Problem[]) => {
      for (const p of problems) {
        result.problemCount++;
        result.byLabel[p.what] = (result.byLabel[p.what] ?? 0) + 1;
        // The first of each kind, so one defect does not hide the others.
        const seen = result.problems.some((q) => q.what === p.what && q.detail === p.detail);
        if (!seen && result.problems.length < 30) result.problems.push(p);
      }
    };
    const rounds = Math.ceil(opts.requests / batch);
    for (let round = 0; round < rounds && api.alive(); round++) {
      const n = Math.min(batch, opts.requests - round * batch);
      const seed = opts.seed + round;
      const items: Sendable[] = [
        ...fc
          .sample(gqlArb, { numRuns: n, seed })
          .map(([req, key]) => ({ kind: 'graphql' as const, req, key })),
        ...fc
          .sample(bulkArb, { numRuns: Math.ceil(n / 4), seed })
          .map((req) => ({ kind: 'http' as const, req })),
        ...fc
          .sample(runnerArb, { numRuns: Math.ceil(n / 4), seed })
          .map((req) => ({ kind: 'http' as const, req })),
      ];
      await pool(items, concurrency, async (item) => {
        record(await send(api.url, item));
        if (item.kind === 'graphql') result.graphql++;
        else if (item.req.path.startsWith('/v1/runs/')) result.runner++;
        else result.ndjson++;
      });
      result.healthChecks++;
      const health = await fetch(`${api.url}/healthz`)
        .then((r) => r.status)
        .catch(() => 0);
      if (health !== 200) {
        record([
          {
            what: '/healthz',
            status: health,
            detail: `after batch ${round + 1}: /healthz answered ${health || 'nothing'}`,
          },
        ]);
        break;
      }
    }
    result.apiAlive = api.alive();
    result.cutUploads = cutUploads.n;
    if (!result.apiAlive)
      record([{ what: 'process', status: 0, detail: `the API exited (${await api.exited})` }]);
    result.secrets = [...db.keysMade];
  } finally {
    await api.kill();
    await db.close();
  }
  return result;
}
