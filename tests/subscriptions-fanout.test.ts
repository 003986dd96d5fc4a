/**
 * The subscribers of one run share its hub (src/modules/runs/run-event-hub.ts): one read of the
 * run's events per announcement and one execution of each event's selection, whatever their
 * number; late joiners and slow readers catch up from the database without gap or duplicate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as WsClient } from 'graphql-ws';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun, type Ref } from './helpers/seed';
import {
  RUN_EVENTS,
  appendEvents,
  collect,
  finishRun,
  range,
  seqsOf,
  wsClient,
  type Collected,
} from './helpers/live';
import { runEventStream } from '../src/modules/runs/run-event-stream';
import { LIVE_QUEUE_LIMIT } from '../src/modules/runs/run-event-hub';
import type { RunEvent } from '../src/modules/runs/run-event.entity';

type Item = { seq: number; run: { id: string; status: string } };

/** Reads of run_events (the hub's pages, replays); the writers' INSERTs do not match. */
const READS_RUN_EVENTS = /\bFROM run_events\b/i;
/** The `run` field's loader (by id), not the supervisor's sweeps of runs. */
const LOADS_RUNS = /FROM "runs" "?\w+"? WHERE "?\w+"?\."?id"? = ANY/;

describe('one run, many subscribers: the run hub', () => {
  let t: TestServer;
  const clients: WsClient[] = [];
  let statements: string[] = [];

  before(async () => {
    t = await startTestServer();
    t.counter.onAnyQuery = (sql) => statements.push(sql);
    for (let k = 0; k < 5; k += 1) clients.push(wsClient(t.url, t.keys.read));
  });
  after(async () => {
    t.counter.onAnyQuery = undefined;
    for (const c of clients) await c.dispose();
    await t.close();
  });

  const subscribe = (r: Ref, n: number, afterSeq = 0): Collected<Item>[] =>
    range(1, n).map((k) =>
      collect<Item>(clients[k % clients.length], 'runEvents', RUN_EVENTS, {
        runId: r.id,
        afterSeq,
      }),
    );

  it('50 subscribers and one new event cost one read of run_events and one run lookup', async () => {
    const r = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const subs = subscribe(r, 50);
    // Once every subscriber has the first event, all of them are members of the live hub.
    await appendEvents(t, r, [1]);
    await Promise.all(subs.map((s) => s.until((items) => items.length >= 1)));

    statements = [];
    await appendEvents(t, r, [2]);
    await Promise.all(subs.map((s) => s.until((items) => items.length >= 2)));
    await sleep(200); // a read per subscriber, were there one, would show by now
    const eventReads = statements.filter((sql) => READS_RUN_EVENTS.test(sql));
    const runLoads = statements.filter((sql) => LOADS_RUNS.test(sql));
    assert.equal(eventReads.length, 1, eventReads.join('\n---\n'));
    assert.equal(runLoads.length, 1, 'the selection ran once for all 50 subscribers');

    await finishRun(t, r, 3, 'SUCCEEDED');
    await Promise.all(subs.map((s) => s.done));
    for (const s of subs) {
      assert.deepEqual(seqsOf(s.items), [1, 2, 3]);
      assert.deepEqual(s.errors, []);
      assert.equal(s.items[1].run.status, 'RUNNING');
      assert.equal(s.items[2].run.status, 'SUCCEEDED', 'the run is read fresh per event');
    }
  });

  it('subscribers joining a live hub mid-stream get the stored events, then the live ones, each once', async () => {
    const r = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const total = 120;
    const early = subscribe(r, 3);
    const late: Collected<Item>[] = [];
    for (let seq = 1; seq <= total; seq += 1) {
      await appendEvents(t, r, [seq]);
      // Joiners at several points, from the start and from a later seq, while events flow.
      if (seq % 25 === 0) late.push(...subscribe(r, 2), ...subscribe(r, 1, seq - 10));
    }
    await finishRun(t, r, total + 1, 'SUCCEEDED');
    await Promise.all([...early, ...late].map((s) => s.done));
    for (const s of early) assert.deepEqual(seqsOf(s.items), range(1, total + 1));
    for (let k = 0; k < late.length; k += 3) {
      const joinedAt = (k / 3 + 1) * 25;
      assert.deepEqual(seqsOf(late[k].items), range(1, total + 1));
      assert.deepEqual(seqsOf(late[k + 1].items), range(1, total + 1));
      assert.deepEqual(seqsOf(late[k + 2].items), range(joinedAt - 9, total + 1));
    }
  });

  it('a subscriber too slow for its queue reads what it missed itself and still gets every event once', async () => {
    const r = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const runId = Number(r.pk);
    const { ds, announcer } = t.server;
    const fast = runEventStream(ds, announcer, runId, 0);
    const slow = runEventStream(ds, announcer, runId, 0);
    const fastSeqs: number[] = [];
    const drained = (async () => {
      for await (const e of fast) fastSeqs.push(e.seq);
    })();
    const slowSeqs: number[] = [];
    const first = slow.next(); // slow joins the hub, then stops taking events
    const total = LIVE_QUEUE_LIMIT + 300;
    await sleep(100);
    // Ten announced batches: the hub hands each to both queues until slow's is full.
    for (let k = 0; k < 10; k += 1) {
      await appendEvents(t, r, range((k * total) / 10 + 1, ((k + 1) * total) / 10));
    }
    await finishRun(t, r, total + 1, 'SUCCEEDED');
    await drained;
    assert.deepEqual(fastSeqs, range(1, total + 1));

    statements = [];
    slowSeqs.push(((await first).value as RunEvent).seq);
    for await (const e of slow) slowSeqs.push(e.seq);
    assert.deepEqual(slowSeqs, range(1, total + 1));
    assert.ok(
      statements.some((sql) => READS_RUN_EVENTS.test(sql)),
      'the slow subscriber read from the database after its queue was dropped',
    );
  });
});
