import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as WsClient } from 'graphql-ws';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createPolicy,
  insertCurriculum,
  insertRun,
  toGlobalId,
  type Ref,
} from './helpers/seed';
import {
  RUN_EVENTS,
  RUN_UPDATED,
  appendEvents,
  finishRun,
  collect,
  range,
  seqsOf,
  setRunStatus,
  sseClient,
  wsClient,
} from './helpers/live';

describe('subscriptions over graphql-ws and graphql-sse', () => {
  let t: TestServer;
  let ws: WsClient;
  const clients: { dispose(): unknown }[] = [];
  const newWs = (key: string | null = t.keys.read, onClose?: (code: number) => void) => {
    const c = wsClient(t.url, key, { onClose });
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestServer();
    ws = newWs();
  });
  after(async () => {
    for (const c of clients) await c.dispose();
    await t.close();
  });

  const run = (status: 'RUNNING' | 'SUCCEEDED' = 'RUNNING', stage: 'SFT' | 'RL' = 'SFT') =>
    insertRun(t, { stage, status });
  const events = (client: { subscribe: WsClient['subscribe'] }, r: Ref, afterSeq = 0) =>
    collect<{ seq: number; run: { status: string } }>(client, 'runEvents', RUN_EVENTS, {
      runId: r.id,
      afterSeq,
    });

  it('replays stored events, then streams new ones, each once and in order', async () => {
    const r = await run();
    await appendEvents(t, r, range(1, 5));
    const sub = events(ws, r);
    await sub.until((items) => items.length >= 5);
    assert.deepEqual(seqsOf(sub.items), range(1, 5));
    await appendEvents(t, r, range(6, 8));
    await appendEvents(t, r, [9, 10]);
    await sub.until((items) => items.length >= 10);
    // Announcements repeated or out of date change nothing: rows are read by seq > last sent.
    await t.server.announcer.runEvents(Number(r.pk), 3);
    await t.server.announcer.runEvents(Number(r.pk), 10);
    await finishRun(t, r, 11, 'SUCCEEDED');
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), range(1, 11));
    assert.deepEqual(sub.errors, []);
    assert.equal(sub.items.at(-1)?.run.status, 'SUCCEEDED', 'fields resolve fresh per event');
  });

  it('has no gap and no duplicate at the replay/live boundary under concurrent writes', async () => {
    const r = await run();
    const total = 120;
    const writer = (async () => {
      for (let seq = 1; seq <= total; seq += 1) {
        await appendEvents(t, r, [seq]);
        if (seq % 20 === 0) await sleep(5);
      }
      await setRunStatus(t, r, 'SUCCEEDED');
    })();
    await sleep(15); // subscribe while the writer is mid-way
    const sub = events(ws, r);
    await writer;
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), range(1, total));
  });

  it('resumes after a disconnect with afterSeq = last seq seen, ending with exactly the stored sequence', async () => {
    const r = await run();
    await appendEvents(t, r, range(1, 4));
    const first = newWs();
    const before = events(first, r);
    await before.until((items) => items.length >= 4);
    await appendEvents(t, r, [5]);
    await before.until((items) => items.length >= 5);
    await first.dispose(); // the subscriber drops mid-stream
    // Written while nobody listens: stored, announced to no one, replayed on resume.
    await appendEvents(t, r, range(6, 9));
    const lastSeen = before.items.at(-1)!.seq;
    const resumed = events(newWs(), r, lastSeen);
    await resumed.until((items) => items.length >= 9 - lastSeen);
    await appendEvents(t, r, [10, 11]);
    await setRunStatus(t, r, 'FAILED');
    await resumed.done;
    assert.deepEqual([...seqsOf(before.items), ...seqsOf(resumed.items)], range(1, 11));
  });

  it('completes at once for a run that already ended, after sending its events', async () => {
    const r = await run('SUCCEEDED');
    await appendEvents(t, r, range(1, 450)); // more than one replay page
    const sub = events(ws, r, 2);
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), range(3, 450));
  });

  it('completes when a live run is cancelled', async () => {
    const r = await run();
    const sub = events(ws, r);
    await sleep(50);
    await appendEvents(t, r, [1]);
    await setRunStatus(t, r, 'CANCELLED');
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), [1]);
  });

  it('recovers when the LISTEN connection drops: events announced meanwhile still arrive', async () => {
    const r = await run();
    const sub = events(ws, r);
    await appendEvents(t, r, [1]);
    await sub.until((items) => items.length >= 1);
    await t.server.ds.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'stagewise-listen' AND datname = current_database()`,
    );
    await appendEvents(t, r, [2, 3]); // very likely announced while nobody listens
    // Well before the 15 s poll: the reconnect's resync makes every stream re-read.
    await sub.until((items) => items.length >= 3, 5_000);
    await appendEvents(t, r, [4]);
    await setRunStatus(t, r, 'SUCCEEDED');
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), range(1, 4));
  });

  it('runUpdated emits matching runs, fresh from the database', async () => {
    const sft = await run('RUNNING', 'SFT');
    const rl = await run('RUNNING', 'RL');
    const byStage = collect<{ id: string; status: string; stage: string }>(
      ws,
      'runUpdated',
      RUN_UPDATED,
      {
        filter: { stage: 'RL' },
      },
    );
    const byIdAndStatus = collect<{ id: string; status: string }>(ws, 'runUpdated', RUN_UPDATED, {
      filter: { runIds: [sft.id], status: ['SUCCEEDED'] },
    });
    await sleep(50);
    await setRunStatus(t, sft, 'CANCELLING'); // neither: wrong stage, wrong status
    await setRunStatus(t, rl, 'SUCCEEDED');
    await setRunStatus(t, sft, 'SUCCEEDED');
    await byStage.until((items) => items.length >= 1);
    await byIdAndStatus.until((items) => items.length >= 1);
    await sleep(100);
    assert.deepEqual(byStage.items, [{ id: rl.id, status: 'SUCCEEDED', stage: 'RL' }]);
    assert.deepEqual(byIdAndStatus.items, [{ id: sft.id, status: 'SUCCEEDED', stage: 'SFT' }]);
    byStage.stop();
    byIdAndStatus.stop();
  });

  it('curriculumUpdated emits the curriculum when announced', async () => {
    const ckpt = await createCheckpoint(t, { name: 'live-base' });
    const policy = await createPolicy(t, { name: 'live-policy' });
    const c = await insertCurriculum(t, { name: 'live-c', baseCheckpoint: ckpt, policy });
    const sub = collect<{ id: string; currentRound: number }>(
      ws,
      'curriculumUpdated',
      'subscription($id: ID) { curriculumUpdated(curriculumId: $id) { id currentRound } }',
      { id: c.id },
    );
    await sleep(50);
    await t.server.ds.query('UPDATE curricula SET current_round = 2 WHERE id = $1', [c.pk]);
    await t.server.announcer.curriculumUpdated(Number(c.pk));
    await sub.until((items) => items.length >= 1);
    assert.deepEqual(sub.items, [{ id: c.id, currentRound: 2 }]);
    sub.stop();
  });

  it('refuses a WebSocket without a valid key with close code 4401', async () => {
    for (const key of [null, 'sw_' + 'x'.repeat(32)]) {
      let code: number | undefined;
      const client = newWs(key, (c) => (code = c));
      const r = await run();
      const sub = events(client, r);
      await assert.rejects(sub.done);
      assert.equal(code, 4401, `key ${key}`);
      assert.deepEqual(sub.items, []);
    }
  });

  it('accepts the key in the upgrade request Authorization header too', async () => {
    const r = await run('SUCCEEDED');
    await appendEvents(t, r, [1]);
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const key = t.keys.read;
    const client = createClient({
      url: t.url.replace(/^http/, 'ws') + '/graphql',
      retryAttempts: 0,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols: string[]) {
          super(url, protocols, { headers: { authorization: `Bearer ${key}` } });
        }
      },
    });
    clients.push(client);
    const sub = events(client, r);
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), [1]);
  });

  it('refuses a key without READ (FORBIDDEN) before reading anything', async () => {
    const r = await run('SUCCEEDED');
    const runner = await t.server.services.apiKeys.create({
      name: 'live-runner',
      scopes: [ApiKeyScope.RUNNER],
      runId: Number(r.pk),
    });
    const sub = events(newWs(runner.key), r);
    await sub.done;
    assert.equal(sub.errors[0]?.extensions?.code, 'FORBIDDEN');
    assert.deepEqual(sub.items, []);
  });

  it('applies the same limits and codes as POST /graphql', async () => {
    const r = await run();
    const deep = `subscription($runId: ID!) { runEvents(runId: $runId) { run { curriculum {
      baseCheckpoint { parent { parent { parent { parent { parent { parent { parent { id } } } } } } } } } } } }`;
    const cases: [string, Record<string, unknown>, string][] = [
      [deep, { runId: r.id }, 'BAD_USER_INPUT'],
      ['{ runs { totalCount } }', {}, 'BAD_USER_INPUT'],
      ['subscription { nope }', {}, 'BAD_USER_INPUT'],
      [RUN_EVENTS, { runId: 'not-an-id' }, 'BAD_USER_INPUT'],
      [RUN_EVENTS, { runId: r.id, afterSeq: -1 }, 'BAD_USER_INPUT'],
      [RUN_EVENTS, { runId: toGlobalId('Run', 999_999) }, 'NOT_FOUND'],
    ];
    for (const [query, variables, code] of cases) {
      const sub = collect(ws, 'runEvents', query, variables);
      await sub.done;
      assert.equal(sub.errors[0]?.extensions?.code, code, `${query} ${JSON.stringify(sub.errors)}`);
    }
  });

  it('serves the same stream over SSE, and refuses it without a key', async () => {
    const r = await run();
    await appendEvents(t, r, range(1, 3));
    const sse = sseClient(t.url, t.keys.read);
    clients.push(sse);
    const sub = events(sse, r);
    await sub.until((items) => items.length >= 3);
    await appendEvents(t, r, [4, 5]);
    await setRunStatus(t, r, 'SUCCEEDED');
    await sub.done;
    assert.deepEqual(seqsOf(sub.items), range(1, 5));

    const anonymous = sseClient(t.url, null);
    clients.push(anonymous);
    const refused = events(anonymous, r);
    await assert.rejects(refused.done);
    assert.deepEqual(refused.items, []);

    const badId = events(sse, { id: 'x', pk: '0' });
    await badId.done.catch(() => undefined);
    assert.equal(badId.errors[0]?.extensions?.code, 'BAD_USER_INPUT');
  });
});
