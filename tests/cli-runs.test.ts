import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './helpers/test-server';
import { startRunnerTestServer, StagewiseCli } from './helpers/cli';

describe('stagewise CLI: task load and runs', () => {
  let t: TestServer;
  let cli: StagewiseCli;

  before(async () => {
    t = await startRunnerTestServer();
    // A run of the real runner, watched to its end, takes a while.
    cli = new StagewiseCli(t, 240_000);
  });
  after(() => t?.close());

  const startRun = (stage: string, ...options: string[]) =>
    cli.run(['runs', 'start', '--stage', stage, '--dataset', 'cli-arith', ...options]);

  it('task load creates the dataset and imports N samples and their traces', async () => {
    const load = ['task', 'load', '--dataset', 'cli-arith', '--n', '120', '--seed', '3'];
    const res = await cli.run(load);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /samples\s+120 lines .*lines\/s\): 120 inserted, 0 existing/);
    assert.match(res.stdout, /traces\s+240 lines .*: 240 inserted, 0 existing/);
    const { data } = await t.gql(
      `{ dataset(name: "cli-arith") { id split } samples(first: 1, filter: {}) { totalCount } }`,
    );
    assert.equal(data.dataset.split, 'TRAIN');
    assert.equal(data.samples.totalCount, 120);
    // The same seed again imports nothing new.
    const again = await cli.run(load);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 inserted, 120 existing/);
  });

  it('runs start + runs watch follow a short SFT run to SUCCEEDED (exit 0), plain lines when piped', async () => {
    const started = await startRun(
      'SFT',
      '--config',
      '{"steps": 20, "batch_size": 8, "log_every": 5}',
    );
    assert.equal(started.code, 0, started.stderr);
    const runId = started.stdout.trim();
    assert.match(runId, /^[A-Za-z0-9=]+$/, 'stdout is only the run id');

    const watched = await cli.run(['runs', 'watch', runId]);
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
    const started = await startRun(
      'PROBE',
      '--limit',
      '8',
      '--config',
      '{"temperature": 0, "k": 4}',
    );
    assert.equal(started.code, 0, started.stderr);
    const watched = await cli.run(['runs', 'watch', started.stdout.trim()]);
    assert.equal(watched.code, 1, watched.stderr + watched.stdout);
    assert.match(watched.stdout, /\] FAILED/);
    assert.match(watched.stdout, /error: .*temperature/s);
  });

  it('runs list --json parses and lists both runs; the table has a header', async () => {
    const runs = JSON.parse(await cli.ok(['runs', 'list', '--json'])) as {
      stage: string;
      status: string;
    }[];
    assert.deepEqual(
      runs.map((r) => `${r.stage} ${r.status}`),
      ['SFT SUCCEEDED', 'PROBE FAILED'],
    );
    const failed = await cli.run(['runs', 'list', '--status', 'FAILED', '--json']);
    assert.equal(JSON.parse(failed.stdout).length, 1);
    assert.match(await cli.ok(['runs', 'list']), /^ID\s+STAGE\s+STATUS/);
  });

  it("runs start --watch and runs retry --watch take runs watch's output flags (--plain, --poll, --reconnect-timeout)", async () => {
    const started = await startRun(
      'PROBE',
      '--limit',
      '8',
      '--config',
      '{"temperature": 0, "k": 4}',
      '--watch',
      '--plain',
      '--logs',
      '--reconnect-timeout',
      '30',
    );
    assert.equal(started.code, 1, started.stderr + started.stdout);
    const runId = started.stdout.split('\n')[0].trim();
    assert.match(started.stdout, /\] FAILED/);
    const retried = await cli.run(['runs', 'retry', runId, '--watch', '--plain', '--poll']);
    assert.equal(retried.code, 1, retried.stderr + retried.stdout);
    assert.match(retried.stdout, /\] FAILED/);
  });

  it('a wrong key exits 3 with a clear message; so do bad arguments and an unknown run', async () => {
    await cli.expectExits([
      {
        args: ['runs', 'list'],
        env: { STAGEWISE_API_KEY: 'sw_not_a_real_key' },
        code: 3,
        stderr: /API key is unknown or revoked.*STAGEWISE_API_KEY.*\[UNAUTHENTICATED\]/,
      },
      { args: ['runs', 'watch', 'UnVuOjE'], env: { STAGEWISE_API_KEY: 'sw_nope' }, code: 3 },
      {
        args: ['runs', 'start', '--stage', 'SFT', '--config', '{oops'],
        code: 3,
        stderr: /--config is not valid JSON/,
      },
      { args: ['runs', 'watch', 'UnVuOjk5OTk5'], code: 3, stderr: /NOT_FOUND/ },
      {
        args: ['runs', 'list'],
        env: { STAGEWISE_URL: 'http://127.0.0.1:9' },
        code: 3,
        stderr: /cannot reach the stagewise API/,
      },
    ]);
  });
});
