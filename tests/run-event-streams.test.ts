/**
 * A live runEvents stream and a replay of the same run are identical, event for event: the
 * local launcher stores the runner's last output line (printed after its final STATUS) once
 * the process has ended, and every live reader (graphql-ws, graphql-sse, the Python client's
 * watch_run, `stagewise runs watch`, also with --poll) must still receive it before its stream
 * completes.
 *
 * One real SFT run is watched by all five at once. It is held QUEUED (the only local slot is
 * taken by a stored run) until every watcher has received its first event, so all of them are
 * live when the run ends rather than replaying a finished run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun, type Ref } from './helpers/seed';
import { collect, setRunStatus, sseClient, wsClient } from './helpers/live';
import {
  getRun,
  loadTask,
  PYTHON,
  runEnv,
  runEvents,
  sftInput,
  startRun,
  statusesOf,
  waitFor,
  waitForStatus,
  type EventView,
} from './helpers/runs';
import { CLIENT_DIR } from './helpers/python';
import { StagewiseCli } from './helpers/cli';

const FIELDS = 'seq type payload at';
const LIVE_EVENTS = `subscription($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { ${FIELDS} }
}`;

/** What a stream and the replay are compared on. */
const key = (e: { seq: number; type: string; payload: unknown; at: string }) =>
  JSON.stringify([e.seq, e.type, e.payload, new Date(e.at).toISOString()]);

/** `watch_run` in a Python process: one JSON line per event, flushed as it arrives. */
function pythonWatcher(t: TestServer, runId: string) {
  const script = [
    'import json, os, sys, stagewise',
    'c = stagewise.Client(os.environ["STAGEWISE_URL"], os.environ["STAGEWISE_API_KEY"])',
    `for e in c.watch_run(sys.argv[1], fields=${JSON.stringify(FIELDS)}):`,
    '    print(json.dumps(e), flush=True)',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script, runId], {
    env: {
      ...process.env,
      PYTHONPATH: CLIENT_DIR,
      PYTHONDONTWRITEBYTECODE: '1',
      STAGEWISE_URL: t.url,
      STAGEWISE_API_KEY: t.keys.read,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const events = () =>
    stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as EventView);
  return { events, exited, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

/** The LOG lines as `runs watch --logs --plain` prints them. */
const printedLogLines = (out: string) =>
  out.split('\n').filter((l) => /^\[(stdout|stderr|runner)\] /.test(l));

describe('live runEvents streams and a replay of the same run', () => {
  let t: TestServer;
  let replay: EventView[];
  let runId: string;
  let blocker: Ref;
  const streams: Record<string, EventView[]> = {};
  let cliOut = '';
  let cliCode: number | null | 'timeout' = null;
  let pollOut = '';
  let pollCode: number | null | 'timeout' = null;

  before(async () => {
    t = await startTestServer(runEnv());
    await loadTask(t, 'streams', 64);
    // A stored RUNNING run takes the only local slot: the real run waits QUEUED.
    blocker = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    const run = await startRun(t, sftInput({ steps: 10 }));
    runId = run.id;

    const ws = wsClient(t.url, t.keys.read);
    const sse = sseClient(t.url, t.keys.read);
    const vars = { runId, afterSeq: 0 };
    const overWs = collect<EventView>(ws, 'runEvents', LIVE_EVENTS, vars);
    const overSse = collect<EventView>(sse, 'runEvents', LIVE_EVENTS, vars);
    const python = pythonWatcher(t, runId);
    const cli = new StagewiseCli(t, 240_000).start(['runs', 'watch', runId, '--logs', '--plain']);
    const polling = new StagewiseCli(t, 240_000).start([
      ...['runs', 'watch', runId, '--logs', '--plain', '--poll'],
    ]);
    try {
      // Every watcher is live before the run may start.
      await overWs.until((items) => items.length >= 1);
      await overSse.until((items) => items.length >= 1);
      await waitFor(
        'watch_run to yield the QUEUED event',
        () => Promise.resolve(python.events().length >= 1),
        60_000,
      );
      for (const watcher of [cli, polling]) {
        await watcher.waitForStdout(/\] QUEUED$/m, 60_000);
        assert.match(watcher.stdout, /\] QUEUED$/m, watcher.stderr);
      }
      assert.equal((await getRun(t, runId)).status, 'QUEUED', 'the run was held until now');
      await setRunStatus(t, blocker, 'SUCCEEDED');

      const ended = await waitForStatus(t, runId);
      assert.equal(ended.status, 'SUCCEEDED', ended.error ?? '');
      await Promise.all([overWs.done, overSse.done]);
      const pythonCode = await python.exited;
      assert.equal(pythonCode, 0, python.stderr());
      cliCode = await cli.exit(120_000);
      cliOut = cli.stdout;
      pollCode = await polling.exit(120_000);
      pollOut = polling.stdout;
      streams.ws = overWs.items;
      streams.sse = overSse.items;
      streams.python = python.events();
      assert.deepEqual(overWs.errors, []);
      assert.deepEqual(overSse.errors, []);
    } finally {
      python.kill();
      await ws.dispose();
      sse.dispose();
    }
    // The replay is read once the launcher has recorded the exit, which it does after storing
    // the process's last lines: it holds everything, with or without a closed log.
    await waitFor('the exit code', async () => (await getRun(t, runId)).exitCode !== null);
    replay = await runEvents(t, runId);
  });
  after(() => t?.close());

  it("the run ends with the runner's last output line stored after its SUCCEEDED STATUS", () => {
    const lastStatus = replay.map((e) => e.type).lastIndexOf('STATUS');
    assert.equal(replay[lastStatus].payload.status, 'SUCCEEDED');
    const after = replay.slice(lastStatus + 1);
    assert.ok(
      after.some((e) => e.type === 'LOG' && /succeeded/.test(String(e.payload.line))),
      `the last line follows the STATUS: ${JSON.stringify(after)}`,
    );
    assert.deepEqual(statusesOf(replay), ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  });

  for (const transport of ['ws', 'sse', 'python']) {
    it(`the live stream over ${transport} equals the replay, event for event`, () => {
      assert.deepEqual(streams[transport].map(key), replay.map(key));
    });
  }

  const replayedLogLines = () =>
    replay
      .filter((e) => e.type === 'LOG')
      .map((e) => `[${String(e.payload.stream)}] ${String(e.payload.line)}`);

  it('stagewise runs watch prints every LOG line of the replay, the last one included', () => {
    assert.equal(cliCode, 0, cliOut);
    assert.deepEqual(printedLogLines(cliOut), replayedLogLines());
  });

  it('stagewise runs watch --poll prints them all too: it polls until the log is complete', () => {
    assert.equal(pollCode, 0, pollOut);
    assert.deepEqual(printedLogLines(pollOut), replayedLogLines());
  });

  it('Run.eventsComplete is true once the stream has completed', async () => {
    const { data } = await t.gql<{ run: { eventsComplete: boolean } }>(
      `query($id: ID!) { run(id: $id) { eventsComplete } }`,
      { id: runId },
    );
    assert.equal(data?.run.eventsComplete, true);
  });
});
