/**
 * The fault checks: PostgreSQL stopped and started under a running API, the API killed with
 * SIGKILL in the middle of a large NDJSON import, and Redis stopped under REDIS_URL. Each
 * reports what it saw; the caller decides pass or fail from the numbers.
 */
import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { collect, wsClient, type Collected } from '../../tests/helpers/live';
import { freePort } from '../../src/common/net';
import { Database, startApi, sleep, waitFor, type ApiProcess } from './api-process';
import { RunnerStandIn, compareSeqs } from './runner-stand-in';

const RUN_EVENTS = 'subscription($runId: ID!) { runEvents(runId: $runId) { seq type } }';

export interface ApiPlace {
  databaseUrl: string;
  logFile: string;
  runsDir: string;
}

export interface StreamOutcome {
  /** Events stored for the run, by the runner's numbering. */
  emitted: number;
  storedLost: number;
  storedDuplicated: number;
  /** Across all subscribers. */
  streamLost: number;
  streamDuplicated: number;
  streamErrors: string[];
}

/** Stored runner seqs against 1..emitted, and each stream against the stored server seqs. */
async function streamOutcome(
  db: Database,
  standIn: RunnerStandIn,
  subs: Collected<{ seq: number }>[],
): Promise<StreamOutcome> {
  const expected = Array.from({ length: standIn.emitted }, (_, k) => k + 1);
  const stored = compareSeqs(await db.runnerSeqs(standIn.run.pk), expected);
  const serverSeqs = (
    await db.ds.query<{ seq: number }[]>(
      `SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq`,
      [standIn.run.pk],
    )
  ).map((r) => Number(r.seq));
  const out: StreamOutcome = {
    emitted: standIn.emitted,
    storedLost: stored.lost,
    storedDuplicated: stored.duplicated,
    streamLost: 0,
    streamDuplicated: 0,
    streamErrors: [],
  };
  for (const sub of subs) {
    const c = compareSeqs(
      sub.items.map((e) => e.seq),
      serverSeqs,
    );
    out.streamLost += c.lost;
    out.streamDuplicated += c.duplicated;
    if (sub.errors.length) out.streamErrors.push(JSON.stringify(sub.errors[0]).slice(0, 200));
  }
  return out;
}

/** Subscribes `n` graphql-ws clients to the run's events. */
function subscribe(api: ApiProcess, key: string, runId: string, n: number) {
  const clients = Array.from({ length: n }, () => wsClient(api.url, key));
  const subs = clients.map((c) => collect<{ seq: number }>(c, 'runEvents', RUN_EVENTS, { runId }));
  return {
    subs,
    close: async () => {
      for (const c of clients) await c.dispose();
    },
  };
}

/** Waits for every stream to end, failing quietly (the outcome shows what is missing). */
async function settle(subs: Collected<unknown>[], ms: number): Promise<void> {
  await Promise.race([Promise.allSettled(subs.map((s) => s.done)), sleep(ms)]);
}

export interface PgRestartOutcome extends StreamOutcome {
  readyz503: boolean;
  recovered: boolean;
  sameProcess: boolean;
  refusalsDuringOutage: number[];
}

/**
 * PostgreSQL stopped and started under a running API, with a runner stand-in reporting and
 * subscribers listening throughout.
 */
export async function pgRestart(
  place: ApiPlace,
  pgControl: { stop(): Promise<void>; start(): Promise<void> },
  log: (line: string) => void,
): Promise<PgRestartOutcome> {
  const api = await startApi(place);
  let db = await Database.open(place.databaseUrl);
  const keys = await db.keys();
  const standIn = new RunnerStandIn(() => api.url, await db.runnerRun());
  const { subs, close } = subscribe(api, keys.read, standIn.run.runId, 3);
  const readyz = () => {
    // A dead API will not recover: stop waiting for it.
    if (!api.alive()) throw new Error('the API process exited');
    return fetch(`${api.url}/readyz`)
      .then((r) => r.status)
      .catch(() => 0);
  };
  try {
    await sleep(500); // the subscriptions are set up before the first event
    for (let k = 0; k < 20; k++) standIn.emit('LOG', { line: `before ${k}` });
    await standIn.flushWithin(10_000);
    await db.close();
    log('stopping PostgreSQL');
    await pgControl.stop();
    const readyz503 = await waitFor(
      '/readyz to answer 503',
      async () => ((await readyz()) === 503 ? true : undefined),
      30_000,
      200,
    ).catch(() => false);
    // The runner keeps reporting while the database is away: its events wait in its buffer.
    for (let k = 0; k < 20; k++) standIn.emit('PROGRESS', { step: k });
    await standIn.flush();
    const refusalsDuringOutage = [...new Set(standIn.refusals)];
    log('starting PostgreSQL');
    await pgControl.start();
    db = await Database.open(place.databaseUrl);
    const recovered = await waitFor(
      '/readyz to answer 200',
      async () => ((await readyz()) === 200 ? true : undefined),
      60_000,
      250,
    ).catch(() => false);
    if (api.alive()) await standIn.flushWithin(30_000);
    for (let k = 0; k < 20; k++) standIn.emit('LOG', { line: `after ${k}` });
    standIn.finish();
    if (api.alive()) await standIn.flushWithin(30_000);
    await settle(subs, api.alive() ? 20_000 : 0);
    return {
      ...(await streamOutcome(db, standIn, subs)),
      readyz503,
      recovered,
      sameProcess: api.alive(),
      refusalsDuringOutage,
    };
  } finally {
    await close().catch(() => undefined);
    await api.kill();
    await db.close().catch(() => undefined);
  }
}

export interface SigkillImportOutcome {
  linesSentBeforeKill: number;
  linesPlanned: number;
  /** The import's rows found afterwards (the promise: 0). */
  rowsAfter: number;
  killedBy: string;
  restartedReady: boolean;
  /** An import after the restart went through (the table is usable). */
  laterImportOk: boolean;
}

const sampleLine = (k: number) =>
  `{"externalId":"kill-${k}","problem":"What is ${k} + ${k}? (line ${k} of a large import)","answer":"${2 * k}","tags":["sigkill"]}\n`;

/**
 * Streams `lines` samples into one NDJSON import and kills the API with SIGKILL once half of them
 * are sent and the server's COPY is running; then starts a new API on the same database and
 * counts the import's rows.
 */
export async function sigkillImport(
  place: ApiPlace,
  lines: number,
  log: (line: string) => void,
): Promise<SigkillImportOutcome> {
  let api = await startApi(place);
  const db = await Database.open(place.databaseUrl);
  const keys = await db.keys();
  try {
    const created = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` },
      body: JSON.stringify({
        query: 'mutation { createDataset(input: { name: "killed-import", split: TRAIN }) { id } }',
      }),
    });
    if (created.status !== 200) throw new Error(`createDataset answered ${created.status}`);
    const { port } = new URL(api.url);
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/datasets/killed-import/samples',
      headers: { authorization: `Bearer ${keys.write}`, 'content-type': 'application/x-ndjson' },
    });
    req.on('error', () => undefined); // the server dies under it: that is the point
    const half = Math.floor(lines / 2);
    let sent = 0;
    const write = async (upTo: number) => {
      while (sent < upTo) {
        let chunk = '';
        for (let k = 0; k < 1000 && sent < upTo; k++) chunk += sampleLine(++sent);
        if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', () => r()));
      }
    };
    await write(half);
    // The server is inside the import: its COPY into staging is running on the database.
    await waitFor(
      'the import COPY to run',
      async () => {
        const [row] = await db.ds.query<{ n: string }[]>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()`,
        );
        return Number(row.n) > 0 ? true : undefined;
      },
      60_000,
    );
    log(`SIGKILL after ${sent} of ${lines} lines`);
    const killedBy = await api.kill('SIGKILL');
    req.destroy();
    api = await startApi(place);
    const restartedReady = (await fetch(`${api.url}/readyz`)).status === 200;
    // The killed server's connection may take a moment to be noticed; its transaction never commits.
    await waitFor(
      'the killed import backend to end',
      async () => {
        const [row] = await db.ds.query<{ n: string }[]>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()`,
        );
        return Number(row.n) === 0 ? true : undefined;
      },
      60_000,
    );
    const [count] = await db.ds.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'killed-import'`,
    );
    const later = await fetch(`${api.url}/v1/datasets/killed-import/samples`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.write}`, 'content-type': 'application/x-ndjson' },
      body: sampleLine(1) + sampleLine(2),
    });
    await later.text();
    return {
      linesSentBeforeKill: sent,
      linesPlanned: lines,
      rowsAfter: Number(count.n),
      killedBy,
      restartedReady,
      laterImportOk: later.status === 200,
    };
  } finally {
    await api.kill();
    await db.close();
  }
}

export interface RedisOutcome extends StreamOutcome {
  skipped?: string;
  refusals: number[];
  apiSurvived: boolean;
}

function startRedis(port: number): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
}

async function redisUp(port: number): Promise<void> {
  await waitFor(
    'redis-server to answer',
    () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() ===
      'PONG'
        ? true
        : undefined,
    20_000,
  );
}

/** Redis stopped and started under REDIS_URL while subscribers listen and a runner reports. */
export async function redisOutage(
  place: ApiPlace,
  log: (line: string) => void,
): Promise<RedisOutcome> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    return {
      skipped: 'no redis-server on this machine',
      apiSurvived: true,
      refusals: [],
      emitted: 0,
      storedLost: 0,
      storedDuplicated: 0,
      streamLost: 0,
      streamDuplicated: 0,
      streamErrors: [],
    };
  }
  const port = await freePort();
  let redis = startRedis(port);
  await redisUp(port);
  const api = await startApi({ ...place, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  const db = await Database.open(place.databaseUrl);
  const keys = await db.keys();
  const standIn = new RunnerStandIn(() => api.url, await db.runnerRun());
  const { subs, close } = subscribe(api, keys.read, standIn.run.runId, 5);
  try {
    await sleep(500);
    for (let k = 0; k < 10; k++) standIn.emit('LOG', { line: `before ${k}` });
    await standIn.flushWithin(10_000);
    await Promise.all(
      subs.map((s) => s.until((items) => items.length >= 10, 20_000).catch(() => undefined)),
    );
    log('stopping redis-server');
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    for (let k = 0; k < 10; k++) standIn.emit('PROGRESS', { step: k });
    await standIn.flushWithin(30_000);
    await sleep(1000);
    log('starting redis-server');
    redis = startRedis(port);
    await redisUp(port);
    // ioredis reconnects on its own back-off (under 2 s between tries).
    await sleep(3000);
    for (let k = 0; k < 10; k++) standIn.emit('LOG', { line: `after ${k}` });
    standIn.finish();
    await standIn.flushWithin(30_000);
    await settle(subs, 30_000);
    return {
      ...(await streamOutcome(db, standIn, subs)),
      apiSurvived: api.alive(),
      refusals: standIn.refusals,
    };
  } finally {
    await close().catch(() => undefined);
    await api.kill();
    await db.close();
    redis.kill('SIGKILL');
  }
}
