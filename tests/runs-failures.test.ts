import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startTestServer, type TestServer } from './helpers/test-server';
import { gqlOk, insertRun, type Ref } from './helpers/seed';
import {
  getRun,
  groupMembers,
  loadTask,
  procStat,
  reopenTestServer,
  runEnv,
  runEvents,
  runnerPid,
  runPk,
  sftInput,
  sleep,
  startRun,
  statusesOf,
  stopKeepingDatabase,
  waitFor,
  waitForStatus,
  waitForStep,
} from './helpers/runs';

/** An SFT run long enough to be caught mid-run (it is killed, cancelled or restarted). */
const LONG = { steps: 2_000, log_every: 2 };

describe('runs that fail, are cancelled or outlive their API', () => {
  describe('on a live API', () => {
    let t: TestServer;

    before(async () => {
      t = await startTestServer(
        runEnv({ HEARTBEAT_TIMEOUT_SECONDS: '5', CANCEL_GRACE_SECONDS: '5' }),
      );
      await loadTask(t, 'arith');
    });
    after(() => t?.close());

    it('a runner killed with SIGKILL mid-run is FAILED quickly with the signal and its last log lines', async () => {
      const queued = await startRun(t, sftInput(LONG));
      const running = await waitForStep(t, queued.id, 4);
      const { pid } = runnerPid(running);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const failed = await waitForStatus(
        t,
        queued.id,
        ['FAILED', 'SUCCEEDED', 'CANCELLED'],
        10_000,
      );
      assert.equal(failed.status, 'FAILED');
      assert.ok(Date.now() - killedAt < 5_000, `failed ${Date.now() - killedAt} ms after the kill`);
      assert.equal(failed.exitSignal, 'SIGKILL');
      assert.equal(failed.exitCode, null);
      assert.match(failed.error ?? '', /killed by SIGKILL/);
      const events = await runEvents(t, queued.id);
      const end = events.findIndex((e) => e.type === 'STATUS' && e.payload.status === 'FAILED');
      const logs = events.slice(0, end).filter((e) => e.type === 'LOG');
      assert.ok(logs.length > 0, 'the runner logged something before it died');
      assert.ok(
        failed.error!.includes(`Last lines:\n`) &&
          failed.error!.includes(logs.at(-1)!.payload.line),
        `the error quotes the last log line: ${failed.error}`,
      );
      assert.deepEqual(statusesOf(events), ['QUEUED', 'STARTING', 'RUNNING', 'FAILED']);
    });

    it("a config the API accepts but the runner refuses is FAILED with the runner's message, never stuck in STARTING", async () => {
      const sft = await startRun(t, sftInput({ steps: 5 }));
      const checkpoint = (await waitForStatus(t, sft.id)).outputCheckpoint;
      assert.ok(checkpoint);
      const queued = await startRun(t, {
        stage: 'PROBE',
        inputCheckpointId: checkpoint.id,
        config: { k: 4, temperature: 0 },
        selection: { filter: {}, limit: 5 },
      });
      const failed = await waitForStatus(
        t,
        queued.id,
        ['FAILED', 'SUCCEEDED', 'CANCELLED'],
        60_000,
      );
      assert.equal(failed.status, 'FAILED');
      assert.match(failed.error ?? '', /invalid PROBE config/);
      assert.match(failed.error ?? '', /temperature/);
      const exited = await waitFor('the exit code', async () => {
        const run = await getRun(t, queued.id);
        return run.exitCode !== null && run;
      });
      assert.equal(exited.exitCode, 2);
      assert.equal(exited.status, 'FAILED');
      const events = await runEvents(t, queued.id);
      assert.deepEqual(statusesOf(events), ['QUEUED', 'STARTING', 'RUNNING', 'FAILED']);
    });

    it('a run cancelled mid-run is CANCELLED and no process of its group is left', async () => {
      const queued = await startRun(t, sftInput(LONG));
      const running = await waitForStep(t, queued.id, 4);
      const { pid } = runnerPid(running);
      assert.equal(procStat(pid)?.pgid, pid, 'the runner leads its own process group');
      const cancelling = await gqlOk(t, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, {
        id: queued.id,
      });
      assert.equal(cancelling.cancelRun.status, 'CANCELLING');
      const done = await waitForStatus(t, queued.id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 30_000);
      assert.equal(done.status, 'CANCELLED', done.error ?? '');
      assert.ok(done.cancelRequestedAt);
      await waitFor('the process group to be empty', () =>
        Promise.resolve(groupMembers(pid).length === 0),
      );
      const events = await runEvents(t, queued.id);
      assert.deepEqual(statusesOf(events), [
        'QUEUED',
        'STARTING',
        'RUNNING',
        'CANCELLING',
        'CANCELLED',
      ]);
      assert.ok(Number(done.progress?.step) < LONG.steps, 'it stopped before its last step');
    });
  });

  describe('across an API restart', () => {
    let t: TestServer;
    let reopened: TestServer | undefined;
    const env = runEnv({ HEARTBEAT_TIMEOUT_SECONDS: '5' });

    before(async () => {
      t = await startTestServer(env);
      await loadTask(t, 'arith');
    });
    after(async () => {
      if (reopened) await reopened.close();
      else await t?.close();
    });

    it('a run survives an API restart: it is adopted, its buffered events are resent and it succeeds without gaps', async () => {
      const queued = await startRun(t, sftInput({ steps: 80, log_every: 2 }));
      const running = await waitForStep(t, queued.id, 4);
      const { pid } = runnerPid(running);
      const url = await stopKeepingDatabase(t);
      const downAt = Date.now();
      await sleep(2_500);
      assert.ok(procStat(pid), 'the runner keeps running while the API is down');
      const upAt = Date.now();
      // The same database, port and RUNS_DIR: what a restarted API process would have.
      reopened = await reopenTestServer(t, url, env);
      const done = await waitForStatus(reopened, queued.id, undefined, 120_000);
      assert.equal(done.status, 'SUCCEEDED', done.error ?? '');
      assert.ok(done.outputCheckpoint, 'its checkpoint was registered with the new API');
      const events = await runEvents(reopened, queued.id);
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i + 1),
        'seqs 1..N without a gap',
      );
      const runnerSeqs = events.flatMap((e) => (e.runnerSeq === null ? [] : [e.runnerSeq]));
      assert.equal(new Set(runnerSeqs).size, runnerSeqs.length, 'no runnerSeq stored twice');
      assert.deepEqual(
        [...runnerSeqs].sort((a, b) => a - b),
        runnerSeqs.map((_, i) => i + 1),
        "every one of the runner's events arrived",
      );
      const buffered = events.filter((e) => {
        const at = new Date(e.at).getTime();
        return e.runnerSeq !== null && at > downAt && at < upAt;
      });
      assert.ok(buffered.length > 0, 'events made while the API was down were resent and stored');
      assert.deepEqual(statusesOf(events), ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    });
  });

  describe('reconciliation when the API starts', () => {
    let t: TestServer;
    let reopened: TestServer | undefined;
    let dead: Ref;
    let alive: Ref;
    let sleeper: ReturnType<typeof spawn>;

    /** A process of our own, and its local job id ("pid:starttime"). */
    const startProcess = async () => {
      const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      const pid = child.pid!;
      const stat = await waitFor('the process to appear', () => Promise.resolve(procStat(pid)));
      return { child, externalId: `${pid}:${stat.startTime}` };
    };

    const insertLiveRun = async (externalId: string) => {
      const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
      await t.server.ds.query(
        `UPDATE runs SET external_id = $2, launcher = 'local',
           started_at = now() - interval '1 minute' WHERE id = $1`,
        [run.pk, externalId],
      );
      return run;
    };

    before(async () => {
      t = await startTestServer(runEnv({ HEARTBEAT_TIMEOUT_SECONDS: '5' }));
      const gone = await startProcess();
      const exited = new Promise((r) => gone.child.once('exit', r));
      gone.child.kill('SIGKILL');
      await exited;
      dead = await insertLiveRun(gone.externalId);
      const live = await startProcess();
      sleeper = live.child;
      alive = await insertLiveRun(live.externalId);
      const url = await stopKeepingDatabase(t);
      reopened = await reopenTestServer(t, url, runEnv({ HEARTBEAT_TIMEOUT_SECONDS: '5' }));
    });
    after(async () => {
      if (sleeper.exitCode === null) sleeper.kill('SIGKILL');
      if (reopened) await reopened.close();
      else await t?.close();
    });

    it('a RUNNING run whose process is gone is FAILED with a reason when the API starts', async () => {
      const run = await getRun(reopened!, dead.id);
      assert.equal(run.status, 'FAILED');
      assert.match(run.error ?? '', /the API restarted/);
      assert.match(run.error ?? '', /is gone/);
      const events = await runEvents(reopened!, dead.id);
      assert.equal(events.at(-1)?.type, 'STATUS');
      assert.equal(events.at(-1)?.payload.status, 'FAILED');
    });

    it('a RUNNING run whose process still runs is kept RUNNING when the API starts', async () => {
      const run = await getRun(reopened!, alive.id);
      assert.equal(run.status, 'RUNNING');
      assert.equal(run.error, null);
    });

    it('a silent run whose process then dies is FAILED by the heartbeat sweep', async () => {
      const exited = new Promise((r) => sleeper.once('exit', r));
      sleeper.kill('SIGKILL');
      await exited;
      const run = await waitForStatus(reopened!, alive.id, ['FAILED'], 20_000);
      assert.match(run.error ?? '', /it sent no heartbeat/);
      assert.equal(runPk(run.id), Number(alive.pk));
    });
  });
});
