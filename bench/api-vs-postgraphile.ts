/**
 * `npm run bench:api`: stagewise's read API next to PostGraphile 4.14.1, on the same PostgreSQL
 * database and the same rows (issue 12).
 *
 *   node dist/bench/api-vs-postgraphile.js [--duration 10] [--rounds 3] [--warmup 3]
 *     [--samples 1000] [--traces 10] [--quick]
 *
 * (BENCH_API_DURATION and BENCH_API_ROUNDS set the defaults of --duration and --rounds; --quick
 * is a smoke run: 2 s, one round, 1 s of warm-up.)
 *
 * Each server runs in its own process with a probe preloaded (bench/api/probe.ts), so CPU,
 * allocation, GC and SQL figures are the server's own: stagewise is `npm start`'s entry point in
 * production mode (READ API key, the normal limits, signed cursors, error masking, request
 * logging at its default level, to a file); PostGraphile serves the `public` schema of the same
 * database, i.e. stagewise's own tables. The rows are loaded through stagewise's NDJSON
 * endpoints, then analysed. Both answers to each query are reduced to plain data and compared
 * before anything is timed; during the rounds every response must be byte-identical to the
 * checked one (autocannon's expectBody).
 *
 * autocannon (in this process) runs rounds of --duration seconds per (query, clients, server),
 * alternating which server goes first. Per row: req/s (all rounds' responses over their time),
 * p50 / p99 latency (median over rounds), and per request the server's CPU (all its threads), V8
 * heap allocated and SQL statements; and GC pauses as a share of the main thread's busy time.
 *
 * PostgreSQL: TEST_DATABASE_URL or DATABASE_URL (an admin URL: a database is created and
 * dropped), otherwise a throwaway embedded server. The last line reads
 * `api ratio vs PostGraphile: big c20 R, big c1 R, small c20 R, small c1 R` (req/s ratios).
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { benchDatabase } from './bench-database';
import { median, positiveIntArgs } from './bench-args';
import { createDatabase, Database } from './reliability/api-process';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { loadRows } from './api/rows';
import { plainPage, QUERIES, type QueryShape, type ServerName } from './api/queries';
import {
  POSTGRAPHILE_MAIN,
  STAGEWISE_MAIN,
  startServerProcess,
  type ServerProcess,
} from './api/server-process';
import type { ProbeFigures } from './api/probe';
import { SERVER_NODE_FLAGS } from '../src/app/server-node-flags';

const CLIENTS = [20, 1];
const USAGE =
  'api-vs-postgraphile [--duration S] [--rounds N] [--warmup S] [--samples N] [--traces N] [--quick]';

interface Sizes {
  duration: number;
  rounds: number;
  warmup: number;
  samples: number;
  traces: number;
}

type Args = Sizes;

const SWITCHES = ['--quick'];

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const envInt = (name: string, fallback: number) =>
    process.env[name] ? Number(process.env[name]) : fallback;
  const defaults: Sizes = quick
    ? { duration: 2, rounds: 1, warmup: 1, samples: 1000, traces: 10 }
    : {
        duration: envInt('BENCH_API_DURATION', 10),
        rounds: envInt('BENCH_API_ROUNDS', 3),
        warmup: 3,
        samples: 1000,
        traces: 10,
      };
  return positiveIntArgs(
    argv.filter((a) => !SWITCHES.includes(a)),
    defaults,
    USAGE,
  );
}

/** A server as the load generator sees it. */
interface Target {
  name: ServerName;
  process: ServerProcess;
  endpoint: string;
  headers: Record<string, string>;
}

/** One round: what autocannon saw and what the probe measured inside the server. */
interface Round {
  responses: number;
  seconds: number;
  p50: number;
  p99: number;
  figures: ProbeFigures;
}

async function graphql(target: Target, query: string): Promise<string> {
  const res = await fetch(target.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target.name}: HTTP ${res.status} ${text}`);
  return text;
}

/**
 * Both servers' answers to `query`, reduced to plain data and compared; returns each server's
 * exact response body, which every timed response must then equal.
 */
async function sameContent(targets: Target[], query: QueryShape): Promise<Map<Target, string>> {
  const bodies = new Map<Target, string>();
  const plain = [];
  for (const target of targets) {
    const body = await graphql(target, query.text[target.name]);
    if (body !== (await graphql(target, query.text[target.name])))
      throw new Error(`${target.name}: two answers to the ${query.name} query differ`);
    bodies.set(target, body);
    plain.push(plainPage(target.name, JSON.parse(body)));
  }
  if (!isDeepStrictEqual(plain[0], plain[1])) {
    const file = path.join(os.tmpdir(), `bench-api-${query.name}-answers.json`);
    fs.writeFileSync(file, JSON.stringify(plain, null, 1));
    throw new Error(`the servers' answers to the ${query.name} query differ (both in ${file})`);
  }
  const traces = plain[0].samples.reduce((n, s) => n + (s.traces?.length ?? 0), 0);
  console.log(
    `# ${query.name}: same content on both servers (${plain[0].samples.length} samples, ${traces} traces)`,
  );
  return bodies;
}

async function load(
  target: Target,
  query: string,
  expectBody: string,
  connections: number,
  seconds: number,
  warmUp = false,
): Promise<autocannon.Result> {
  const result = await autocannon({
    url: target.endpoint,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify({ query }),
    connections,
    duration: seconds,
    // A loaded 2-core machine can take longer than autocannon's default 10 s per big answer.
    timeout: 60,
    expectBody,
  });
  const bad = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (bad)
    throw new Error(
      `${target.name}: ${result['2xx']} good responses, ${result.errors} errors, ${result.timeouts} timeouts, ` +
        `${result.non2xx} non-2xx, ${result.mismatches} bodies other than the checked answer`,
    );
  // Possible in --quick rounds: 20 big answers served together can all take longer than 2 s.
  if (!warmUp && !result['2xx'])
    console.log(`# ${target.name} answered nothing within ${seconds} s at ${connections} clients`);
  return result;
}

async function round(
  target: Target,
  query: string,
  expectBody: string,
  connections: number,
  seconds: number,
): Promise<Round> {
  const { result, figures } = await target.process.measure(() =>
    load(target, query, expectBody, connections, seconds),
  );
  return {
    responses: result['2xx'],
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    figures,
  };
}

interface Row {
  query: string;
  clients: number;
  server: ServerName;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  mbPerReq: number;
  gcShare: number;
  sqlPerReq: number;
}

function summarise(query: string, clients: number, server: ServerName, rounds: Round[]): Row {
  const sum = (f: (r: Round) => number) => rounds.reduce((n, r) => n + f(r), 0);
  const requests = sum((r) => r.figures.requests);
  const cpu = sum((r) => r.figures.cpuMicros);
  return {
    query,
    clients,
    server,
    reqPerSec: sum((r) => r.responses) / sum((r) => r.seconds),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpuMsPerReq: cpu / 1000 / requests,
    mbPerReq: sum((r) => r.figures.allocatedBytes) / 2 ** 20 / requests,
    gcShare: sum((r) => r.figures.gcMicros) / sum((r) => r.figures.busyMicros),
    sqlPerReq: sum((r) => r.figures.statements) / requests,
  };
}

function printTable(rows: Row[]): void {
  const ratio = (row: Row) => {
    if (row.server !== 'stagewise') return '';
    const other = rows.find(
      (r) => r.query === row.query && r.clients === row.clients && r !== row,
    )!;
    return (row.reqPerSec / other.reqPerSec).toFixed(2);
  };
  const header = [
    'query',
    'clients',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU ms/req',
    'MB alloc/req',
    'GC % main',
    'SQL/req',
    'ratio',
  ];
  // No request in a window (possible in --quick runs on a busy machine) leaves a figure undefined.
  const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const cells = rows.map((r) => [
    r.query,
    String(r.clients),
    r.server,
    fixed(r.reqPerSec, 1),
    fixed(r.p50, 1),
    fixed(r.p99, 1),
    fixed(r.cpuMsPerReq, 2),
    fixed(r.mbPerReq, 2),
    fixed(100 * r.gcShare, 0),
    fixed(r.sqlPerReq, 2),
    ratio(r),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c].length)));
  const line = (cs: string[]) =>
    cs.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  cells.forEach((r) => console.log(line(r)));
  const ratios = QUERIES.flatMap((q) =>
    CLIENTS.map((c) => {
      const row = rows.find(
        (r) => r.query === q.name && r.clients === c && r.server === 'stagewise',
      );
      return `${q.name} c${c} ${ratio(row!)}`;
    }),
  );
  console.log(`api ratio vs PostGraphile: ${ratios.join(', ')}`);
}

/** Starts both servers on a fresh database holding the rows; `cleanup` undoes it all. */
async function setUp(
  args: Args,
  workDir: string,
  cleanup: (() => Promise<void>)[],
): Promise<Target[]> {
  const db = await createDatabase(process.env.TEST_DATABASE_URL!);
  cleanup.unshift(() => db.drop());
  const stagewise = await startServerProcess({
    name: 'stagewise',
    main: STAGEWISE_MAIN,
    // Started as `npm start` and the API image start it.
    nodeFlags: SERVER_NODE_FLAGS,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      PORT: '0',
      RUNS_DIR: path.join(workDir, 'runs'),
    },
    logFile: path.join(workDir, 'stagewise.log'),
    urlInLog: /stagewise API\s+(http:\/\/\S+)\/graphql/,
  });
  cleanup.unshift(() => stagewise.close());

  const keys = await Database.open(db.url);
  let read: string, write: string;
  try {
    read = await keys.key('bench-read', [ApiKeyScope.READ]);
    write = await keys.key('bench-write', [ApiKeyScope.WRITE]);
  } finally {
    await keys.close();
  }
  const started = performance.now();
  await loadRows(stagewise.url, write, args.samples, args.traces);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('VACUUM ANALYZE');
  await client.end();
  console.log(
    `# loaded ${args.samples} samples x ${args.traces} traces through the NDJSON endpoints and analysed them in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const postgraphile = await startServerProcess({
    name: 'PostGraphile',
    main: POSTGRAPHILE_MAIN,
    env: { NODE_ENV: 'production', DATABASE_URL: db.url },
    logFile: path.join(workDir, 'postgraphile.log'),
  });
  cleanup.unshift(() => postgraphile.close());
  return [
    {
      name: 'stagewise',
      process: stagewise,
      endpoint: `${stagewise.url}/graphql`,
      headers: { authorization: `Bearer ${read}` },
    },
    {
      name: 'PostGraphile',
      process: postgraphile,
      endpoint: `${postgraphile.url}/graphql`,
      headers: {},
    },
  ];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // (Assigning undefined to process.env would store the string "undefined".)
  if (!process.env.TEST_DATABASE_URL && process.env.DATABASE_URL)
    process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
  if (!process.env.TEST_DATABASE_URL) console.log('# on an embedded PostgreSQL');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-api-'));
  const cleanup: (() => Promise<void>)[] = [];
  // One clean-up, whoever asks first (a signal, or the end of main); later callers wait for it.
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const step of cleanup) {
        await step().catch((err: unknown) => console.error('# cleanup:', err));
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void cleanUp().finally(() => {
        fs.rmSync(workDir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  let ok = false;
  try {
    cleanup.unshift(await benchDatabase());
    const targets = await setUp(args, workDir, cleanup);
    console.log(
      `# ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, node ${process.version}; ` +
        `${args.rounds} alternating round(s) of ${args.duration} s per query, clients and server`,
    );

    const rows: Row[] = [];
    for (const query of QUERIES) {
      const bodies = await sameContent(targets, query);
      for (const target of targets)
        await load(target, query.text[target.name], bodies.get(target)!, 20, args.warmup, true);
      for (const clients of CLIENTS) {
        const rounds = new Map<Target, Round[]>(targets.map((t) => [t, []]));
        for (let r = 0; r < args.rounds; r += 1) {
          const order = r % 2 === 0 ? targets : [...targets].reverse();
          for (const target of order) {
            const text = query.text[target.name];
            rounds
              .get(target)!
              .push(await round(target, text, bodies.get(target)!, clients, args.duration));
          }
        }
        for (const target of targets)
          rows.push(summarise(query.name, clients, target.name, rounds.get(target)!));
        console.log(`# ${query.name} c${clients} done`);
      }
    }
    printTable(rows);
    ok = true;
  } finally {
    await cleanUp();
    if (ok) fs.rmSync(workDir, { recursive: true, force: true });
    else console.error(`# the servers' logs are in ${workDir}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
