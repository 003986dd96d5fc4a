import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startTestServer, type TestServer } from './helpers/test-server';

/** The compiled CLI, beside the compiled tests: <out>/src/cli/stagewise.js. */
const CLI = path.join(__dirname, '..', 'src', 'cli', 'stagewise.js');
/** The repository's gpu-runner, from <out>/tests. */
const RUNNER_DIR = path.resolve(__dirname, '..', '..', 'gpu-runner');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('stagewise CLI: task load and runs', () => {
  let t: TestServer;
  let runsDir: string;

  const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          env: {
            ...process.env,
            STAGEWISE_URL: t.url,
            STAGEWISE_API_KEY: t.keys.write,
            RUNNER_DIR,
            ...env,
          },
          timeout: 240_000,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  before(async () => {
    runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-cli-runs-'));
    t = await startTestServer({ RUNS_DIR: runsDir, RUNNER_DIR });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(runsDir, { recursive: true, force: true });
  });

  it('task load creates the dataset and imports N samples and their traces', async () => {
    const res = await cli(['task', 'load', '--dataset', 'cli-arith', '--n', '120', '--seed', '3']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /samples\s+120 lines .*lines\/s\): 120 inserted, 0 existing/);
    assert.match(res.stdout, /traces\s+240 lines .*: 240 inserted, 0 existing/);
    const { data } = await t.gql(
      `{ dataset(name: "cli-arith") { id split } samples(first: 1, filter: {}) { totalCount } }`,
    );
    assert.equal(data.dataset.split, 'TRAIN');
    assert.equal(data.samples.totalCount, 120);
    // The same seed again imports nothing new.
    const again = await cli([
      'task',
      'load',
      '--dataset',
      'cli-arith',
      '--n',
      '120',
      '--seed',
      '3',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 inserted, 120 existing/);
  });

  it('runs start + runs watch follow a short SFT run to SUCCEEDED (exit 0), plain lines when piped', async () => {
    const started = await cli([
      'runs',
      'start',
      '--stage',
      'SFT',
      '--dataset',
      'cli-arith',
      '--config',
      '{"steps": 20, "batch_size": 8, "log_every": 5}',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const runId = started.stdout.trim();
    assert.match(runId, /^[A-Za-z0-9=]+$/, 'stdout is only the run id');

    const watched = await cli(['runs', 'watch', runId]);
    assert.equal(watched.code, 0, watched.stderr + watched.stdout);
    const out = watched.stdout;
    assert.ok(!out.includes('\r') && !out.includes('\u001b['), 'no redrawn bar when not a TTY');
    const order = ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED'].map((s) =>
      out.search(new RegExp(`^\\[[\\d:]+\\] ${s}$`, 'm')),
    );
    assert.ok(
      order.every((i) => i >= 0),
      out,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      'status lines in order',
    );
    assert.match(out, /step 20\/20 \(100%\)/);
    assert.match(out, /train\/loss=/);
    assert.match(out, new RegExp(`Run ${runId} SUCCEEDED .*at step 20/20`));
    assert.match(out, /output checkpoint: sft-\S+-step-20/);
  });

  it('watching a run that fails exits 1 with the runner error', async () => {
    const started = await cli([
      'runs',
      'start',
      '--stage',
      'PROBE',
      '--dataset',
      'cli-arith',
      '--limit',
      '8',
      '--config',
      '{"temperature": 0, "k": 4}',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const watched = await cli(['runs', 'watch', started.stdout.trim()]);
    assert.equal(watched.code, 1, watched.stderr + watched.stdout);
    assert.match(watched.stdout, /\] FAILED/);
    assert.match(watched.stdout, /error: .*temperature/s);
  });

  it('runs list --json parses and lists both runs; the table has a header', async () => {
    const res = await cli(['runs', 'list', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const runs = JSON.parse(res.stdout) as { stage: string; status: string }[];
    assert.deepEqual(
      runs.map((r) => `${r.stage} ${r.status}`),
      ['SFT SUCCEEDED', 'PROBE FAILED'],
    );
    const failed = await cli(['runs', 'list', '--status', 'FAILED', '--json']);
    assert.equal(JSON.parse(failed.stdout).length, 1);
    const human = await cli(['runs', 'list']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^ID\s+STAGE\s+STATUS/);
  });

  it('a wrong key exits 3 with a clear message; so do bad arguments and an unknown run', async () => {
    const wrong = await cli(['runs', 'list'], { STAGEWISE_API_KEY: 'sw_not_a_real_key' });
    assert.equal(wrong.code, 3);
    assert.match(
      wrong.stderr,
      /API key is unknown or revoked.*STAGEWISE_API_KEY.*\[UNAUTHENTICATED\]/,
    );
    const watch = await cli(['runs', 'watch', 'UnVuOjE'], { STAGEWISE_API_KEY: 'sw_nope' });
    assert.equal(watch.code, 3);
    const usage = await cli(['runs', 'start', '--stage', 'SFT', '--config', '{oops']);
    assert.equal(usage.code, 3);
    assert.match(usage.stderr, /--config is not valid JSON/);
    const unknown = await cli(['runs', 'watch', 'UnVuOjk5OTk5']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /NOT_FOUND/);
    const noServer = await cli(['runs', 'list'], { STAGEWISE_URL: 'http://127.0.0.1:9' });
    assert.equal(noServer.code, 3);
    assert.match(noServer.stderr, /cannot reach the stagewise API/);
  });
});
