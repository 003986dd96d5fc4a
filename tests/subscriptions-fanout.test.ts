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
import { REPLAY_PAGE_SIZE } from '../src/modules/runs/run-event-pages';
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
  it('events committed while a joiner replays its history reach it once, after the history, in order', async () => {
    const r = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const runId = Number(r.pk);
    const { ds, announcer } = t.server;
    // An idle member the hub hands events to in its own loop (the fast path), all along.
    const live = runEventStream(ds, announcer, runId, 0);
    const liveSeqs: number[] = [];
    const liveDone = (async () => {
      for await (const e of live) liveSeqs.push(e.seq);
    })();
    const stored = 2 * REPLAY_PAGE_SIZE + 50; // a history of three pages
    for (let k = 0; k < stored; k += 50) await appendEvents(t, r, range(k + 1, k + 50));
    while (liveSeqs.length < stored) await sleep(10);

    const joiner = runEventStream(ds, announcer, runId, 0);
    const joinerSeqs = [((await joiner.next()).value as RunEvent).seq]; // its first page is read
    // New events while it has two pages of history still to read, then more while it drains.
    let next = stored + 1;
    for (let k = 0; k < 5; k += 1, next += 3) await appendEvents(t, r, range(next, next + 2));
    // Taken with next() rather than for-await, whose break would end the stream.
    while (joinerSeqs[joinerSeqs.length - 1] !== next - 1) {
      const e = (await joiner.next()).value as RunEvent;
      joinerSeqs.push(e.seq);
      if (e.seq % 100 === 0 && next < stored + 100) {
        await appendEvents(t, r, range(next, next + 9));
        next += 10;
      }
    }
    const last = next + 20;
    await appendEvents(t, r, range(next, last - 1));
    await finishRun(t, r, last, 'SUCCEEDED');
    for await (const e of joiner) joinerSeqs.push(e.seq);
    await liveDone;
    assert.deepEqual(joinerSeqs, range(1, last));
    assert.deepEqual(liveSeqs, range(1, last));
  });

  it('a stream its consumer returns ends at once, and the others still get every event', async () => {
    const r = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const runId = Number(r.pk);
    const { ds, announcer } = t.server;
    const kept = runEventStream(ds, announcer, runId, 0);
    const dropped = runEventStream(ds, announcer, runId, 0);
    const keptSeqs: number[] = [];
    const keptDone = (async () => {
      for await (const e of kept) keptSeqs.push(e.seq);
    })();
    const pending = dropped.next(); // waiting for its first event when it is returned
    await appendEvents(t, r, [1]);
    assert.equal(((await pending).value as RunEvent).seq, 1);
    const waiting = dropped.next();
    await dropped.return?.();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    await appendEvents(t, r, [2, 3]);
    await finishRun(t, r, 4, 'SUCCEEDED');
    await keptDone;
    assert.deepEqual(keptSeqs, [1, 2, 3, 4]);
    assert.deepEqual(await dropped.next(), { done: true, value: undefined });
  });
});
