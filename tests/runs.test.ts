import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { gqlOk, insertRun } from './helpers/seed';
import {
  getRun,
  loadTask,
  runEnv,
  runEvents,
  runPk,
  sftInput,
  startRun,
  statusesOf,
  tryStartRun,
  waitFor,
  waitForStatus,
  type RunView,
} from './helpers/runs';

describe('runs with the real runner on the local launcher', () => {
  let t: TestServer;
  let sft: RunView;
  let failed: RunView;

  before(async () => {
    t = await startTestServer(runEnv());
    const task = await loadTask(t, 'arith');
    assert.equal(task.samples, 200);
    assert.equal(task.traces, 400);
  });
  after(() => t?.close());

  const runCount = async () =>
    Number((await t.server.ds.query<{ n: string }[]>('SELECT count(*) AS n FROM runs'))[0].n);

  describe('lifecycle', () => {
    it('an SFT run succeeds with progress, metrics, an output checkpoint and exit code 0', async () => {
      const queued = await startRun(t, sftInput());
      assert.equal(queued.status, 'QUEUED');
      assert.equal(queued.attempt, 1);
      sft = await waitForStatus(t, queued.id);
      assert.equal(sft.status, 'SUCCEEDED', sft.error ?? '');
      assert.equal(sft.error, null);
      assert.deepEqual(sft.progress && [sft.progress.step, sft.progress.totalSteps], [30, 30]);
      assert.equal(typeof sft.metrics['train/loss'], 'number');
      assert.equal(typeof sft.metrics['time/total'], 'number');
      assert.ok(sft.outputCheckpoint, 'the run has an output checkpoint');
      assert.match(sft.outputCheckpoint.name, /^sft-.*-step-30$/);
      assert.ok(sft.startedAt && sft.finishedAt && sft.heartbeatAt);
      // The exit code is recorded when the process exits, just after its final STATUS.
      sft = await waitFor('the exit code', async () => {
        const run = await getRun(t, queued.id);
        return run.exitCode !== null && run;
      });
      assert.equal(sft.exitCode, 0);
      assert.equal(sft.exitSignal, null);
    });

    it('its STATUS events are exactly QUEUED, STARTING, RUNNING, SUCCEEDED in that order', async () => {
      const events = await runEvents(t, sft.id);
      assert.deepEqual(statusesOf(events), ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    });

    it('its event seqs are 1..N without a gap, with metric, progress and artifact events', async () => {
      const events = await runEvents(t, sft.id);
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i + 1),
      );
      const types = new Set(events.map((e) => e.type));
      for (const type of ['METRIC', 'PROGRESS', 'ARTIFACT']) assert.ok(types.has(type), type);
      const runnerSeqs = events.flatMap((e) => (e.runnerSeq === null ? [] : [e.runnerSeq]));
      assert.equal(new Set(runnerSeqs).size, runnerSeqs.length, 'no runnerSeq stored twice');
      // The runner reports its checkpoint, and the API records its registration (with its id).
      const registered = events.filter(
        (e) => e.type === 'ARTIFACT' && e.payload.checkpointId === sft.outputCheckpoint?.id,
      );
      assert.equal(registered.length, 1);
    });

    it("the run's runner key is revoked once the run ends", async () => {
      const keys = await waitFor('the runner key to be revoked', async () => {
        const rows = await t.server.ds.query<{ revoked_at: Date | null }[]>(
          'SELECT revoked_at FROM api_keys WHERE run_id = $1',
          [runPk(sft.id)],
        );
        return rows.length > 0 && rows.every((r) => r.revoked_at !== null) && rows;
      });
      assert.equal(keys.length, 1);
    });

    it('a PROBE run on that checkpoint writes k x items ROLLOUT traces with its run and producer', async () => {
      const queued = await startRun(t, {
        stage: 'PROBE',
        inputCheckpointId: sft.outputCheckpoint!.id,
        config: { k: 4, max_new_tokens: 32, num_threads: 1 },
        selection: { filter: {}, limit: 50 },
      });
      const probe = await waitForStatus(t, queued.id);
      assert.equal(probe.status, 'SUCCEEDED', probe.error ?? '');
      assert.equal(probe.inputCheckpoint?.id, sft.outputCheckpoint!.id);
      assert.equal(probe.metrics['probe/rollouts'], 200);
      const data = await gqlOk(
        t,
        `query($runId: ID!) {
          all: traces(first: 1, filter: { runId: $runId }) { totalCount }
          rollouts: traces(first: 500, filter: { runId: $runId, kind: ROLLOUT }) {
            totalCount edges { node { kind producer run { id } } }
          }
        }`,
        { runId: probe.id },
      );
      assert.equal(data.rollouts.totalCount, 4 * 50);
      assert.equal(data.all.totalCount, 4 * 50);
      for (const { node } of data.rollouts.edges) {
        assert.equal(node.producer, sft.outputCheckpoint!.name);
        assert.equal(node.run.id, probe.id);
      }
    });
  });

  describe('validation', () => {
    it('a wrong config field and an unknown field are BAD_USER_INPUT naming every field', async () => {
      const before = await runCount();
      const res = await tryStartRun(t, sftInput({ steps: 0, lr: 'fast', stpes: 3 }));
      const [err] = res.errors ?? [];
      assert.equal(err?.extensions.code, 'BAD_USER_INPUT');
      assert.match(err.message, /config\.steps/);
      assert.match(err.message, /config\.lr/);
      assert.match(err.message, /unknown field "stpes"/);
      assert.equal((err.extensions.problems as string[]).length, 3);
      assert.equal(await runCount(), before, 'no run row was written');
    });

    it('an SFT run without a manifest or a selection is BAD_USER_INPUT', async () => {
      const before = await runCount();
      const res = await tryStartRun(t, { stage: 'SFT', config: { steps: 5 } });
      assert.equal(res.errors?.[0].extensions.code, 'BAD_USER_INPUT');
      assert.match(res.errors[0].message, /manifestId or selection/);
      assert.equal(await runCount(), before, 'no run row was written');
    });

    it('a selection that matches nothing is BAD_USER_INPUT and writes no run or manifest', async () => {
      const count = async () =>
        (
          await t.server.ds.query<{ runs: number; manifests: number }[]>(
            `SELECT (SELECT count(*)::int FROM runs) AS runs,
                    (SELECT count(*)::int FROM manifests) AS manifests`,
          )
        )[0];
      const before = await count();
      const input = sftInput();
      input.selection.traceProducer = 'nobody';
      const res = await tryStartRun(t, input);
      assert.equal(res.errors?.[0].extensions.code, 'BAD_USER_INPUT');
      assert.match(res.errors[0].message, /matches no samples/);
      assert.deepEqual(await count(), before, 'nothing was written');
    });
  });

  describe('illegal transitions', () => {
    const CANCEL = `mutation($id: ID!) { cancelRun(id: $id) { id status } }`;
    const RETRY = `mutation($id: ID!) { retryRun(id: $id) { id status attempt retryOf { id } } }`;

    it('cancelRun of a SUCCEEDED run is CONFLICT and leaves it SUCCEEDED', async () => {
      const res = await t.gql(CANCEL, { id: sft.id });
      assert.equal(res.errors?.[0].extensions.code, 'CONFLICT');
      assert.equal((await getRun(t, sft.id)).status, 'SUCCEEDED');
    });

    it('retryRun of a SUCCEEDED run is CONFLICT and starts nothing', async () => {
      const before = await runCount();
      const res = await t.gql(RETRY, { id: sft.id });
      assert.equal(res.errors?.[0].extensions.code, 'CONFLICT');
      assert.equal(await runCount(), before);
    });

    it('retryRun of a FAILED run makes attempt 2 with retryOf the failed run', async () => {
      // Valid for the API, refused by the runner (its x-rule: temperature 0 requires k 1).
      const queued = await startRun(t, {
        stage: 'PROBE',
        inputCheckpointId: sft.outputCheckpoint!.id,
        config: { k: 4, temperature: 0 },
        selection: { filter: {}, limit: 5 },
      });
      failed = await waitForStatus(t, queued.id);
      assert.equal(failed.status, 'FAILED');
      const retry = (await gqlOk(t, RETRY, { id: failed.id })).retryRun;
      assert.equal(retry.attempt, 2);
      assert.equal(retry.retryOf.id, failed.id);
      assert.equal(retry.status, 'QUEUED');
      const second = await waitForStatus(t, retry.id);
      assert.equal(second.status, 'FAILED');
      assert.deepEqual(second.config, failed.config);
      assert.equal(second.manifest?.id, failed.manifest?.id);
      assert.equal(second.inputCheckpoint?.id, failed.inputCheckpoint?.id);
    });
  });

  describe('concurrency', () => {
    it('with one local slot a second run stays QUEUED while the first runs, then runs', async () => {
      const first = await startRun(t, sftInput({ steps: 40 }));
      const second = await startRun(t, sftInput({ steps: 20 }));
      const seen = new Set<string>();
      await waitFor('the first run to end', async () => {
        const [a, b] = await Promise.all([getRun(t, first.id), getRun(t, second.id)]);
        if (a.status === 'RUNNING') {
          seen.add('first running');
          assert.equal(b.status, 'QUEUED', 'the second run waits while the first runs');
        }
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(a.status);
      });
      assert.ok(seen.has('first running'));
      const a = await getRun(t, first.id);
      assert.equal(a.status, 'SUCCEEDED');
      const b = await waitForStatus(t, second.id);
      assert.equal(b.status, 'SUCCEEDED', b.error ?? '');
      assert.ok(
        new Date(b.startedAt!).getTime() >= new Date(a.finishedAt!).getTime(),
        'the second run started after the first had finished',
      );
    });
  });

  describe('runner keys', () => {
    let own: { id: string; pk: string };
    let other: { id: string; pk: string };
    let key: string;

    before(async () => {
      // Runs stored without a queue job: nothing launches them.
      own = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
      other = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
      key = (
        await t.server.services.apiKeys.create({
          name: 'runner-test',
          scopes: [ApiKeyScope.RUNNER],
          runId: Number(own.pk),
        })
      ).key;
    });

    const rest = (method: string, runId: string, suffix: string, body?: object) =>
      fetch(`${t.url}/v1/runs/${runId}/${suffix}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });

    it("a runner key on another run's spec is 403 FORBIDDEN", async () => {
      const res = await rest('GET', other.id, 'spec');
      assert.equal(res.status, 403);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'FORBIDDEN');
    });

    it('a runner key on a GraphQL query is FORBIDDEN', async () => {
      const res = await t.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: own.id }, key);
      assert.equal(res.errors?.[0].extensions.code, 'FORBIDDEN');
      assert.equal(res.data?.run ?? null, null);
    });

    it("a runner key reads its own run's spec", async () => {
      const res = await rest('GET', own.id, 'spec');
      assert.equal(res.status, 200);
      const body = (await res.json()) as { run: { id: string; stage: string; attempt: number } };
      assert.deepEqual(body.run.id, own.id);
      assert.equal(body.run.stage, 'SFT');
      assert.equal(body.run.attempt, 1);
    });

    it('events resent with the same runner seqs are stored once', async () => {
      const batch = {
        events: [1, 2, 3].map((seq) => ({
          seq,
          type: 'LOG',
          payload: { stream: 'runner', line: `line ${seq}` },
        })),
      };
      const first = await rest('POST', own.id, 'events', batch);
      assert.equal(first.status, 200);
      assert.deepEqual(await first.json(), {
        stored: 3,
        duplicates: 0,
        ignored: [],
        runStatus: 'RUNNING',
        cancelRequested: false,
      });
      const countAfterFirst = (await runEvents(t, own.id)).length;
      const second = await rest('POST', own.id, 'events', batch);
      assert.equal(second.status, 200);
      const answer = (await second.json()) as { stored: number; duplicates: number };
      assert.equal(answer.stored, 0);
      assert.equal(answer.duplicates, 3);
      const events = await runEvents(t, own.id);
      assert.equal(events.length, countAfterFirst, 'the event count is unchanged');
      assert.deepEqual(
        events.map((e) => e.runnerSeq),
        [1, 2, 3],
      );
    });
  });
});
