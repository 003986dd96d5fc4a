/**
 * The reliability suite (bench/reliability), smaller: the same checks against real API
 * processes, with fewer requests and a smaller import, and verdicts that do not depend on time.
 * The full run (10,000 requests, 200 clients for 60 s, a 1M-line import, Redis) is
 * `npm run test:reliability`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminDatabaseUrl } from './helpers/test-server';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from '../src/common/db/embedded-postgres';
import { freePort } from '../src/common/net';
import { createDatabase } from '../bench/reliability/api-process';
import { pgRestart, sigkillImport, type ApiPlace } from '../bench/reliability/faults';
import { runFuzz } from '../bench/reliability/fuzz';
import { runLoad } from '../bench/reliability/load';
import { scanForSecrets, secretsScan } from '../bench/reliability/secrets';
import { hashKey } from '../src/modules/api-keys/api-key.service';

/** dist/tests -> the repository's schema.graphql. */
const SCHEMA = path.join(__dirname, '..', '..', 'schema.graphql');
const quiet = () => undefined;

describe('the reliability suite, small', () => {
  let dir: string;
  const drops: (() => Promise<void>)[] = [];

  /** A fresh database on `admin` and a folder for one check's log and runs. */
  async function place(name: string, admin = adminDatabaseUrl()): Promise<ApiPlace> {
    const db = await createDatabase(admin);
    drops.push(() => db.drop());
    const runsDir = path.join(dir, name, 'runs');
    fs.mkdirSync(runsDir, { recursive: true });
    return { databaseUrl: db.url, logFile: path.join(dir, name, 'api.log'), runsDir };
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-reliability-test-'));
  });
  after(async () => {
    for (const drop of drops) await drop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 1,000 generated GraphQL requests and 500 NDJSON and runner bodies without a 5xx, INTERNAL, stack trace or SQL, and stays up', async () => {
    const p = await place('fuzz');
    const r = await runFuzz({ ...p, schemaFile: SCHEMA, requests: 1000, seed: 7 });
    assert.equal(r.graphql, 1000);
    assert.equal(r.ndjson + r.runner, 500);
    assert.deepEqual(
      r.problems.map((x) => `${x.what} -> ${x.detail}`),
      [],
      `${r.problemCount} broken answers`,
    );
    assert.equal(r.apiAlive, true);
    assert.equal(r.healthChecks, 10);
  });

  it('keeps no row of an NDJSON import whose API process is killed with SIGKILL in the middle', async () => {
    const r = await sigkillImport(await place('sigkill'), 20_000, quiet);
    assert.equal(r.killedBy, 'SIGKILL');
    assert.ok(r.linesSentBeforeKill < r.linesPlanned);
    assert.equal(r.rowsAfter, 0);
    assert.equal(r.restartedReady, true);
    assert.equal(r.laterImportOk, true);
  });

  it('answers 503 on /readyz while PostgreSQL is down, recovers without a restart, and loses or repeats no event', async () => {
    // Its own PostgreSQL, to stop and start under the API.
    const pgDir = path.join(dir, 'pg');
    const port = await freePort();
    let pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dataDir: pgDir, port });
    try {
      const r = await pgRestart(
        await place('pg-restart', pg.url),
        {
          stop: () => pg.stop(),
          start: async () => {
            pg = await startEmbeddedPostgres({ dataDir: pgDir, port });
          },
        },
        quiet,
      );
      assert.equal(r.readyz503, true, '/readyz answered 503 while PostgreSQL was down');
      assert.equal(r.recovered, true, '/readyz answered 200 after');
      assert.equal(r.sameProcess, true, 'the API process survived');
      assert.deepEqual(
        { storedLost: r.storedLost, storedDuplicated: r.storedDuplicated },
        { storedLost: 0, storedDuplicated: 0 },
      );
      assert.deepEqual(r.streamErrors, []);
      assert.deepEqual(
        { streamLost: r.streamLost, streamDuplicated: r.streamDuplicated },
        { streamLost: 0, streamDuplicated: 0 },
      );
    } finally {
      await pg.stop().catch(() => undefined);
      // As root the data may live elsewhere than asked (resolveDataDir): remove that folder too.
      fs.rmSync(pg.dataDir, { recursive: true, force: true });
    }
  });

  it('serves 20 clients mixing queries and exports with no error while every subscriber gets every event once', async () => {
    const r = await runLoad(await place('load'), { clients: 20, seconds: 5, samples: 200 }, quiet);
    assert.deepEqual(r.errorExamples, []);
    assert.equal(r.errors, 0);
    assert.ok(r.eventsEmitted > 0);
    assert.deepEqual(
      { lost: r.streamLost, duplicated: r.streamDuplicated },
      { lost: 0, duplicated: 0 },
    );
    assert.equal(r.apiAlive, true);
    // The memory verdict reads the heap after a full collection from the API's probe, three
    // times; the trend printed beside it, from the API's own /metrics.
    assert.equal(r.liveHeapMb.length, 3, 'the heap probe did not answer three times');
    assert.ok(r.liveHeapMb.every((m) => m > 0));
    assert.ok(r.heapSamples > 0, 'no heap sample from the API');
    // The API's loop probe answered for the whole load window, as did the generator's own.
    assert.ok(r.apiLoop, "no event-loop figures from the API's probe");
    assert.ok(r.apiLoop.ms >= 5000, `the API's window lasted ${r.apiLoop.ms} ms`);
    assert.ok(r.generatorLoop.ms >= 5000, `the generator's window lasted ${r.generatorLoop.ms} ms`);
  });

  it('leaves no API key, runner token or webhook secret in clear in the log, run folders or launcher scripts after a full run', async () => {
    const r = await secretsScan(await place('secrets'), quiet);
    assert.equal(r.runStatus, 'SUCCEEDED');
    assert.ok(r.webhookDeliveries > 0);
    assert.ok(r.filesScanned > 1);
    assert.deepEqual(r.found, []);
  });

  it('finds a secret left in clear, by value or by the hash of a token it was never told', () => {
    const logFile = path.join(dir, 'scan', 'api.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const unseen = 'sw_' + 'A'.repeat(32);
    fs.writeFileSync(logFile, 'authorization: Bearer sw_known_key\n');
    const script = path.join(dir, 'scan', 'launch.sh');
    fs.writeFileSync(script, `export STAGEWISE_RUN_TOKEN=${unseen}\n`, { mode: 0o755 });
    const tokenFile = path.join(dir, 'scan', 'token');
    fs.writeFileSync(tokenFile, unseen, { mode: 0o600 });
    const r = scanForSecrets(
      [logFile, script, tokenFile],
      [['adminKey', 'sw_known_key']],
      new Set([hashKey(unseen)]),
      logFile,
    );
    assert.deepEqual(r.found, [
      'adminKey in scan/api.log',
      'key or runner token in scan/launch.sh',
    ]);
    assert.equal(r.privateTokenFiles, 1);
  });
});
