import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApiLogger } from '../src/app/log-redaction';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  runEnv,
  runEvents,
  runnerPid,
  sftInput,
  startRun,
  loadTask,
  waitForStatus,
  waitForStep,
} from './helpers/runs';

/** Every file under `dir`, recursively (checkpoints included). */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
}

describe('the local launcher keeps the runner token out of every file and log', () => {
  let t: TestServer;
  let runsDir: string;
  let logDir: string;
  let logFile: string;

  before(async () => {
    const env = runEnv();
    runsDir = env.RUNS_DIR;
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-token-log-'));
    logFile = path.join(logDir, 'api.log');
    // The API's own logger (with its redaction), at its most talkative, into a file to grep.
    const logger = createApiLogger('trace', pino.destination({ dest: logFile, sync: true }));
    t = await startTestServer(env, logger);
    await loadTask(t, 'arith-secrets', 64);
  });
  after(async () => {
    await t?.close();
    fs.rmSync(runsDir, { recursive: true, force: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it("a full local run has its token in the runner's environment only: not in its argv, run folder, launcher logs, events or the API log", async () => {
    const queued = await startRun(t, sftInput({ steps: 60, log_every: 2 }));
    const running = await waitForStep(t, queued.id, 2);
    const { pid } = runnerPid(running);
    // The runner's environment is where the token is meant to be: read it from there.
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const token = environ.find((v) => v.startsWith('STAGEWISE_RUN_TOKEN='))?.split('=')[1];
    assert.ok(token && token.length >= 16, 'the runner got its token in its environment');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.ok(!argv.includes(token), `the token is in the runner's argv: ${argv}`);

    const done = await waitForStatus(t, queued.id);
    assert.equal(done.status, 'SUCCEEDED', done.error ?? '');
    assert.ok(done.outputCheckpoint, 'the run wrote a checkpoint (its folder is searched too)');

    const files = filesUnder(runsDir);
    assert.ok(
      files.some((f) => /stagewise-run-\d+\.out$/.test(f)),
      `the launcher's log files are among the files searched: ${files.join(', ')}`,
    );
    const needle = Buffer.from(token);
    for (const file of files) {
      assert.ok(!fs.readFileSync(file).includes(needle), `${file} holds the runner token`);
    }
    const events = await runEvents(t, queued.id);
    assert.ok(events.length > 0);
    assert.ok(!JSON.stringify(events).includes(token), "the run's events hold the token");
    const log = fs.readFileSync(logFile, 'utf8');
    assert.ok(log.length > 0, 'the API logged something');
    assert.ok(!log.includes(token), 'the API log holds the runner token');
  });
});
