/**
 * When a run's event log closes, and what closing means: a cancel of a QUEUED run closes it at
 * once (no process will write); an ended run whose exit this API never saw stays open, still
 * streaming late events, until the sweep closes it after its grace; nothing is added after.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client as WsClient } from 'graphql-ws';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import type { RunSupervisor } from '../src/modules/runs/run.supervisor';
import { RunEventType } from '../src/modules/runs/run-event.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun } from './helpers/seed';
import { appendEvents, collect, range, seqsOf, setRunStatus, wsClient } from './helpers/live';
import { journalContext, launcherlessSupervisor, runEvents, statusesOf } from './helpers/runs';

const LIVE_EVENTS = `subscription($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq type payload }
}`;

describe('closing a run’s event log', () => {
  let t: TestServer;
  let ws: WsClient;
  let supervisor: RunSupervisor;

  before(async () => {
    t = await startTestServer();
    ws = wsClient(t.url, t.keys.read);
    supervisor = launcherlessSupervisor(t);
  });
  after(async () => {
    await ws.dispose();
    await t.close();
  });

  const eventsComplete = async (id: string) =>
    (
      await t.gql<{ run: { eventsComplete: boolean } }>(
        `query($id: ID!) { run(id: $id) { eventsComplete } }`,
        { id },
      )
    ).data!.run.eventsComplete;

  it('cancelRun of a QUEUED run closes its log at once: the stream completes with the replay', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'QUEUED' });
    assert.equal(await eventsComplete(run.id), false);
    const sub = collect<{ seq: number }>(ws, 'runEvents', LIVE_EVENTS, { runId: run.id });
    const res = await t.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, {
      id: run.id,
    });
    assert.equal(res.data?.cancelRun.status, 'CANCELLED', JSON.stringify(res.errors));
    await sub.done;
    assert.equal(await eventsComplete(run.id), true);
    // The same through the list and node(id), which load runs their own ways.
    const { data, errors } = await t.gql<{
      runs: { nodes: { id: string; eventsComplete: boolean }[] };
      node: { eventsComplete: boolean };
    }>(
      `query($id: ID!) {
        runs(first: 50) { nodes { id eventsComplete } }
        node(id: $id) { ... on Run { eventsComplete } }
      }`,
      { id: run.id },
    );
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.equal(data!.runs.nodes.find((n) => n.id === run.id)?.eventsComplete, true);
    assert.equal(data!.node.eventsComplete, true);
    const replay = await runEvents(t, run.id);
    assert.deepEqual(statusesOf(replay), ['CANCELLING', 'CANCELLED']);
    assert.deepEqual(seqsOf(sub.items), seqsOf(replay));
  });

  it('an ended run whose exit was never seen streams late events until the sweep closes its log', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    await appendEvents(t, run, range(1, 3));
    const sub = collect<{ seq: number }>(ws, 'runEvents', LIVE_EVENTS, { runId: run.id });
    await sub.until((items) => items.length >= 3);
    // Ended, as a runner's final STATUS ends it, with the log left open.
    await setRunStatus(t, run, 'SUCCEEDED', t.server, false);
    // appendEvents writes rows only; the journal hands out seqs after the run's lastSeq.
    await t.server.ds.query('UPDATE runs SET last_seq = 3 WHERE id = $1', [run.pk]);
    // A line stored after the terminal status still reaches the live subscriber.
    await t.server.services.journal.locked(journalContext(t), Number(run.pk), (r) =>
      r.record([{ type: RunEventType.LOG, payload: { stream: 'stdout', line: 'late' } }]),
    );
    await sub.until((items) => items.length >= 4);
    assert.equal(sub.completed(), false, 'an open log keeps the stream open');
    assert.equal(await eventsComplete(run.id), false);

    // Within the grace the sweep leaves it open; past it, it closes the log.
    await supervisor.sweep();
    assert.equal(await eventsComplete(run.id), false);
    await t.server.ds.query(
      `UPDATE runs SET finished_at = now() - interval '10 minutes' WHERE id = $1`,
      [run.pk],
    );
    await supervisor.sweep();
    await sub.done;
    assert.equal(await eventsComplete(run.id), true);
    assert.deepEqual(seqsOf(sub.items), seqsOf(await runEvents(t, run.id)));
    assert.deepEqual(seqsOf(sub.items), [1, 2, 3, 4]);
  });

  it('refuses events after the log closed with CONFLICT, storing nothing', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'SUCCEEDED' });
    const { key } = await t.server.services.apiKeys.create({
      name: `runner-${run.pk}`,
      scopes: [ApiKeyScope.RUNNER],
      runId: Number(run.pk),
    });
    const res = await fetch(`${t.url}/v1/runs/${run.id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [{ seq: 1, type: 'LOG', payload: { stream: 'runner', line: 'too late' } }],
      }),
    });
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(res.status, 409);
    assert.equal(body.error.code, 'CONFLICT');
    assert.deepEqual(await runEvents(t, run.id), []);
  });
});
