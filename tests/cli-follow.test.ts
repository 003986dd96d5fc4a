import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './helpers/test-server';
import { StagewiseCli } from './helpers/cli';
import { finishRun } from './helpers/live';
import {
  createCheckpoint,
  createDataset,
  createPolicy,
  insertCurriculum,
  insertRun,
  type Ref,
} from './helpers/seed';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

/**
 * `runs watch` and `curricula watch` share one follower (src/cli/follow): these tests put a TCP
 * proxy between the CLI and a real server and break the CLI's connections under it.
 */
describe('stagewise CLI: the watchers follow through lost connections', () => {
  let t: TestServer;
  let proxy: TcpProxy;
  let cli: StagewiseCli;
  let base: Ref;
  let policy: Ref;
  let train: Ref;

  before(async () => {
    t = await startTestServer();
    proxy = await startTcpProxy(t.url);
    cli = new StagewiseCli({ ...t, url: proxy.url });
    base = await createCheckpoint(t, { name: 'follow-base' });
    policy = await createPolicy(t, { name: 'follow-policy' });
    train = await createDataset(t, 'follow-train');
  });
  afterEach(() => {
    proxy.refuse = 'none';
  });
  after(async () => {
    await proxy?.close();
    await t?.close();
  });

  /** Stores LOG events "line <seq>" and announces them, as the runner's journal does. */
  const logLines = async (run: Ref, seqs: number[]) => {
    for (const seq of seqs) {
      await t.server.ds.query(
        `INSERT INTO run_events (run_id, seq, type, payload) VALUES ($1, $2, 'LOG', $3)`,
        [run.pk, seq, JSON.stringify({ stream: 'stdout', line: `line ${seq}` })],
      );
    }
    await t.server.announcer.runEvents(Number(run.pk), Math.max(...seqs));
  };
  /** Waits until the proxy has passed on `n` WebSocket upgrades in all. */
  const upgradesReach = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (proxy.upgrades < n) {
      assert.ok(Date.now() < deadline, `${proxy.upgrades} WebSocket upgrades, not ${n}`);
      await sleep(50);
    }
  };
  /** How often `text` occurs in `out`. */
  const count = (out: string, text: RegExp) => (out.match(new RegExp(text, 'gm')) ?? []).length;
  const eachLineOnce = (out: string, last: number) => {
    for (let seq = 1; seq <= last; seq += 1) {
      assert.equal(count(out, new RegExp(`^\\[stdout\\] line ${seq}$`)), 1, `line ${seq}: ${out}`);
    }
  };
  const cancelCurriculum = (c: Ref) =>
    t.gql(`mutation($id: ID!) { cancelCurriculum(id: $id) { status } }`, { id: c.id });

  it('runs watch resumes after the server side drops its socket, prints each event once, and exits 1 when the run FAILED', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    await logLines(run, [1, 2, 3]);
    const upgradesBefore = proxy.upgrades;
    const watch = cli.start(['runs', 'watch', run.id, '--logs']);
    await watch.waitForStdout(/^\[stdout\] line 3$/m, 20_000);
    assert.equal(proxy.upgrades, upgradesBefore + 1, watch.stdout);

    proxy.dropAll();
    await watch.waitForStdout(/connection lost \(.*\); resuming after seq 3/, 10_000);
    await logLines(run, [4, 5]);
    await watch.waitForStdout(/^\[stdout\] line 5$/m, 20_000);
    await finishRun(t, run, 6, 'FAILED');

    const code = await watch.exit(30_000);
    assert.equal(code, 1, watch.stderr + watch.stdout);
    assert.equal(proxy.upgrades, upgradesBefore + 2, 'one new subscription after the drop');
    assert.equal(count(watch.stdout, /connection lost/), 1, watch.stdout);
    eachLineOnce(watch.stdout, 5);
    assert.match(watch.stdout, /^\[[\d:]+\] FAILED$/m);
    assert.match(watch.stdout, new RegExp(`^Run ${run.id} FAILED`, 'm'));
  });

  it('runs watch polls run.events when the WebSocket keeps failing while HTTP answers, and exits 0 on SUCCEEDED', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    await logLines(run, [1, 2]);
    proxy.refuse = 'websockets';
    const watch = cli.start(['runs', 'watch', run.id, '--logs']);
    await watch.waitForStdout(/subscription unavailable: .*; polling run\.events instead/, 20_000);
    await logLines(run, [3]);
    await finishRun(t, run, 4, 'SUCCEEDED');

    const code = await watch.exit(30_000);
    assert.equal(code, 0, watch.stderr + watch.stdout);
    // Three tries (the first and two back-offs) before it polls.
    assert.equal(count(watch.stdout, /connection lost/), 2, watch.stdout);
    eachLineOnce(watch.stdout, 3);
    assert.match(watch.stdout, new RegExp(`^Run ${run.id} SUCCEEDED`, 'm'));
  });

  it('runs watch gives up with exit 3 once the API stays out of reach past --reconnect-timeout', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    await logLines(run, [1]);
    const watch = cli.start(['runs', 'watch', run.id, '--logs', '--reconnect-timeout', '1']);
    await watch.waitForStdout(/^\[stdout\] line 1$/m, 20_000);
    proxy.refuse = 'all';
    proxy.dropAll();

    const code = await watch.exit(30_000);
    assert.equal(code, 3, watch.stderr + watch.stdout);
    assert.match(watch.stderr, /gave up after 1s/);
  });

  it('curricula watch resubscribes after a drop and ends with exit 2 when the curriculum is cancelled', async () => {
    const c = await insertCurriculum(t, {
      name: 'follow-drop',
      baseCheckpoint: base,
      policy,
      datasets: [train],
    });
    const upgradesBefore = proxy.upgrades;
    const watch = cli.start(['curricula', 'watch', c.id]);
    await watch.waitForStdout(/Watching curriculum follow-drop/, 20_000);
    await upgradesReach(upgradesBefore + 1);

    proxy.dropAll();
    await watch.waitForStdout(/connection lost \(.*\); reconnecting/, 10_000);
    await upgradesReach(upgradesBefore + 2);
    const cancelled = await cancelCurriculum(c);
    assert.equal(cancelled.data?.cancelCurriculum.status, 'CANCELLED', JSON.stringify(cancelled));

    const code = await watch.exit(30_000);
    assert.equal(code, 2, watch.stderr + watch.stdout);
    assert.equal(count(watch.stdout, /connection lost/), 1, watch.stdout);
    assert.match(watch.stdout, /^Curriculum follow-drop CANCELLED/m);
  });

  it('curricula watch polls when the WebSocket keeps failing, and exits 2 when the curriculum is cancelled', async () => {
    const c = await insertCurriculum(t, {
      name: 'follow-poll',
      baseCheckpoint: base,
      policy,
      datasets: [train],
    });
    proxy.refuse = 'websockets';
    const watch = cli.start(['curricula', 'watch', c.id]);
    await watch.waitForStdout(/subscription unavailable: .*; polling instead/, 20_000);
    await cancelCurriculum(c);

    const code = await watch.exit(30_000);
    assert.equal(code, 2, watch.stderr + watch.stdout);
    assert.match(watch.stdout, /^Curriculum follow-poll CANCELLED/m);
  });
});
