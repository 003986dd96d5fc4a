/**
 * Helpers for the run tests: the built-in arithmetic task loaded into a dataset through the bulk
 * endpoints, runs started through GraphQL and polled until they end, their events read back,
 * and a server reopened on the same database (an API restart). Runs use the real runner
 * (`python3 -m gpu_runner`) on the local launcher.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../../src/app/config';
import { startServer } from '../../src/app/server';
import { StatementCounter } from '../../src/common/db/data-source';
import { adminDatabaseUrl, type GqlResult, type TestServer } from './test-server';
import { gqlOk, pkOf } from './seed';
import { RunSupervisor } from '../../src/modules/runs/run.supervisor';
import type { RequestContext } from '../../src/common/request-context';
import { groupMembers, procStat } from './processes';
import { tempDir } from './temp';
export { groupMembers, procStat };

/** The gpu-runner folder of this repository (dist/tests/helpers -> repo root). */
export const RUNNER_DIR = path.resolve(__dirname, '..', '..', '..', 'gpu-runner');
export const PYTHON = '/usr/bin/python3';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Server env for run tests: a fresh RUNS_DIR per server, plus `extra`. */
export function runEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    // Removed when the test process ends (a server's runs outlive the test that made them).
    RUNS_DIR: extra.RUNS_DIR ?? tempDir('stagewise-runs-'),
    RUNNER_DIR,
    RUNNER_PYTHON: PYTHON,
    ...extra,
  };
}

/** Writes the built-in task (samples and traces NDJSON) with the runner's own generator. */
export function writeTask(n: number, seed = 0): { samples: string; traces: string } {
  const dir = tempDir('stagewise-task-');
  const samples = path.join(dir, 'samples.ndjson');
  const traces = path.join(dir, 'traces.ndjson');
  execFileSync(
    PYTHON,
    [
      '-m',
      'gpu_runner.tasks.arithmetic',
      ...['--n', String(n), '--seed', String(seed), '--samples', samples, '--traces', traces],
    ],
    { cwd: RUNNER_DIR, stdio: 'pipe' },
  );
  return { samples, traces };
}

async function postNdjson(t: TestServer, url: string, file: string): Promise<any> {
  const res = await fetch(`${t.url}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.keys.write}`, 'content-type': 'application/x-ndjson' },
    body: fs.readFileSync(file),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `${url}: ${JSON.stringify(body)}`);
  return body;
}

/** A dataset holding the built-in task: `n` samples, each with a raw and an explicit teacher trace. */
export async function loadTask(
  t: TestServer,
  name: string,
  n = 200,
): Promise<{ id: string; pk: string; samples: number; traces: number }> {
  const data = await gqlOk<{ createDataset: { id: string } }>(
    t,
    `mutation($name: String!) { createDataset(input: { name: $name, split: TRAIN }) { id } }`,
    { name },
  );
  const files = writeTask(n);
  const samples = await postNdjson(t, `/v1/datasets/${name}/samples`, files.samples);
  const traces = await postNdjson(t, `/v1/datasets/${name}/traces`, files.traces);
  fs.rmSync(path.dirname(files.samples), { recursive: true, force: true });
  return {
    id: data.createDataset.id,
    pk: pkOf(data.createDataset.id),
    samples: samples.inserted as number,
    traces: traces.inserted as number,
  };
}

/** An EVAL dataset of `n` problems of the built-in task (another seed than loadTask's), no traces. */
export async function loadEvalTask(
  t: TestServer,
  name: string,
  n: number,
): Promise<{ id: string; pk: string }> {
  const data = await gqlOk<{ createDataset: { id: string } }>(
    t,
    `mutation($name: String!) { createDataset(input: { name: $name, split: EVAL }) { id } }`,
    { name },
  );
  const files = writeTask(n, 101);
  await postNdjson(t, `/v1/datasets/${name}/samples`, files.samples);
  fs.rmSync(path.dirname(files.samples), { recursive: true, force: true });
  return { id: data.createDataset.id, pk: pkOf(data.createDataset.id) };
}

/** An SFT input on the explicit teacher traces: small, one torch thread, done in seconds. */
export function sftInput(config: Record<string, unknown> = {}, limit = 64) {
  return {
    stage: 'SFT',
    config: { steps: 30, batch_size: 16, log_every: 5, num_threads: 1, ...config },
    selection: {
      filter: {},
      traceKinds: ['TEACHER'],
      traceProducer: 'builtin-teacher-explicit',
      limit,
    },
  };
}

export const RUN_FIELDS = `id status stage attempt config externalId error exitCode exitSignal
  progress metrics heartbeatAt startedAt finishedAt cancelRequestedAt launcher
  outputCheckpoint { id name uri } inputCheckpoint { id name } retryOf { id }
  manifest { id }`;

export interface RunView {
  id: string;
  status: string;
  stage: string;
  attempt: number;
  config: Record<string, unknown>;
  externalId: string | null;
  error: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  progress: Record<string, any> | null;
  metrics: Record<string, any>;
  heartbeatAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  launcher: string;
  outputCheckpoint: { id: string; name: string; uri: string } | null;
  inputCheckpoint: { id: string; name: string } | null;
  retryOf: { id: string } | null;
  manifest: { id: string } | null;
}

export const START_RUN = `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`;

/** startRun, as the raw GraphQL answer (for the refusals). */
export function tryStartRun(t: TestServer, input: object): Promise<GqlResult<any>> {
  return t.gql(START_RUN, { input });
}

export async function startRun(t: TestServer, input: object): Promise<RunView> {
  return (await gqlOk<{ startRun: RunView }>(t, START_RUN, { input })).startRun;
}

export async function getRun(t: TestServer, id: string): Promise<RunView> {
  return (
    await gqlOk<{ run: RunView }>(t, `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id })
  ).run;
}

export const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Polls `fn` until it returns something truthy; fails naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  ms = 60_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Polls the run until its status is one of `statuses` (terminal by default). */
export async function waitForStatus(
  t: TestServer,
  id: string,
  statuses: string[] = TERMINAL,
  ms = 90_000,
): Promise<RunView> {
  let last: RunView | undefined;
  try {
    return await waitFor(
      `run ${id} to be ${statuses.join(' or ')}`,
      async () => {
        last = await getRun(t, id);
        return statuses.includes(last.status) && last;
      },
      ms,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

/** Polls until the run is RUNNING and has reported a step at least `step`. */
export function waitForStep(t: TestServer, id: string, step: number, ms = 90_000) {
  return waitFor(
    `run ${id} to reach step ${step}`,
    async () => {
      const run = await getRun(t, id);
      assert.ok(!TERMINAL.includes(run.status), `run ended early: ${JSON.stringify(run)}`);
      const ready = run.status === 'RUNNING' && Number(run.progress?.step ?? 0) >= step;
      return ready && run.externalId !== null && run;
    },
    ms,
  );
}

export interface EventView {
  seq: number;
  runnerSeq: number | null;
  type: string;
  payload: Record<string, any>;
  at: string;
}

/** Every stored event of a run, in seq order, read through GraphQL. */
export async function runEvents(t: TestServer, id: string): Promise<EventView[]> {
  const all: EventView[] = [];
  for (;;) {
    const data = await gqlOk<{ run: { events: EventView[] } }>(
      t,
      `query($id: ID!, $after: Int!) {
        run(id: $id) { events(afterSeq: $after, first: 500) { seq runnerSeq type payload at } }
      }`,
      { id, after: all.at(-1)?.seq ?? 0 },
    );
    all.push(...data.run.events);
    if (data.run.events.length < 500) return all;
  }
}

/** The statuses of a run's STATUS events, in seq order. */
export function statusesOf(events: EventView[]): string[] {
  return events.filter((e) => e.type === 'STATUS').map((e) => e.payload.status as string);
}

/** The pid and start time of a local run's runner, from its externalId ("pid:starttime"). */
export function runnerPid(run: RunView): { pid: number; startTime: string } {
  const m = /^(\d+):(\d+)$/.exec(run.externalId ?? '');
  assert.ok(m, `not a local job id: ${run.externalId}`);
  return { pid: Number(m[1]), startTime: m[2] };
}

/** The numeric primary key of a run's global id. */
export const runPk = (id: string) => Number(pkOf(id));

/** Ends a test server's run machinery and connections, leaving its database in place. */
export async function stopKeepingDatabase(t: TestServer): Promise<string> {
  const url = (t.server.ds.options as { url: string }).url;
  await t.server.close();
  return url;
}

/**
 * A new API process on the database and port of a stopped one (runners keep the old URL), with
 * the same keys; its close() drops the database.
 */
export async function reopenTestServer(
  old: TestServer,
  databaseUrl: string,
  env: Record<string, string>,
): Promise<TestServer> {
  const counter = new StatementCounter();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    PORT: String(old.server.port),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const server = await startServer(config, {
    counter,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  const gql = async <T>(
    query: string,
    variables?: Record<string, unknown>,
    key: string | null = old.keys.admin,
  ) => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { ...((await res.json()) as GqlResult<T>), status: res.status };
  };
  return {
    server,
    url: server.url,
    counter,
    keys: old.keys,
    gql,
    async close() {
      await server.close();
      const name = new URL(databaseUrl).pathname.slice(1);
      const c = new pg.Client({ connectionString: adminDatabaseUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The part of a context the run journal uses: the data source its transactions open on. */
export const journalContext = (t: TestServer) => ({ ds: t.server.ds }) as RequestContext;

/**
 * A RunSupervisor on the test server's database with no launchers: what the tests use to report
 * a process's exit the way the launchers report it, through the real journal.
 */
export function launcherlessSupervisor(t: TestServer): RunSupervisor {
  return new RunSupervisor({
    ds: t.server.ds,
    journal: t.server.services.journal,
    contextFor: () => journalContext(t),
    apiKeys: t.server.services.apiKeys,
    launchers: {},
    heartbeatTimeoutMs: 30_000,
    log: pino({ level: 'silent' }),
  });
}
