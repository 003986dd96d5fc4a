/**
 * A run's status reports arrive in any order (a runner's buffered resends, a user's cancel, the
 * process's exit): whatever the order, every status move the API makes is legal, and a late or
 * repeated runner report is acknowledged (200, its seq in `ignored`) but changes nothing and is
 * not stored. Every ordering of every subset of {runner RUNNING, cancelRun, runner SUCCEEDED,
 * runner FAILED}, followed by the process's exit, against the real API and database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RunStatus } from '../src/modules/runs/run.entity';
import { canMove } from '../src/modules/runs/run-status';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import type { RunSupervisor } from '../src/modules/runs/run.supervisor';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun, type Ref } from './helpers/seed';
import { launcherlessSupervisor, runEvents, statusesOf, type EventView } from './helpers/runs';
import { repoRoot } from './helpers/processes';

type Report = 'RUNNING' | 'CANCEL' | 'SUCCEEDED' | 'FAILED';
const REPORTS: Report[] = ['RUNNING', 'CANCEL', 'SUCCEEDED', 'FAILED'];

/** The moves gpu-runner/PROTOCOL.md documents, read from its table (`| from | to |`). */
function documentedMoves(): Record<string, string[]> {
  const text = fs.readFileSync(path.join(repoRoot(), 'gpu-runner', 'PROTOCOL.md'), 'utf8');
  const start = text.indexOf('| from');
  assert.ok(start >= 0, 'PROTOCOL.md has the status table');
  const moves: Record<string, string[]> = {};
  for (const row of text.slice(start).split('\n').slice(2)) {
    if (!row.startsWith('|')) break;
    const [from, to] = row
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    const targets = to.match(/\b[A-Z]{4,}\b/g) ?? [];
    for (const status of from.split(',').map((f) => f.trim())) moves[status] = targets;
  }
  return moves;
}
const LEGAL = documentedMoves();

/** Every ordering of every subset of `items`, the empty one included. */
function arrangements<T>(items: T[]): T[][] {
  const out: T[][] = [[]];
  for (const [i, item] of items.entries()) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of arrangements(rest)) out.push([item, ...tail]);
  }
  return out;
}

/** What the rules say each report does, given the reports before it. */
function expectations(order: Report[]) {
  const outcome = order.find((r) => r === 'SUCCEEDED' || r === 'FAILED');
  const ignored = order.filter((report, i) => {
    const before = order.slice(0, i);
    if (report === 'RUNNING') return before.length > 0; // only STARTING -> RUNNING is a move
    if (report === 'SUCCEEDED') return before.includes('FAILED');
    if (report === 'FAILED') return before.includes('SUCCEEDED');
    return false;
  });
  const cancelRefused =
    order.includes('CANCEL') &&
    order.slice(0, order.indexOf('CANCEL')).some((r) => r === 'SUCCEEDED' || r === 'FAILED');
  const final = outcome ?? (order.includes('CANCEL') ? 'CANCELLED' : 'FAILED');
  return { final, ignored, cancelRefused };
}

describe('runner status reports in every order', () => {
  let t: TestServer;
  let supervisor: RunSupervisor;

  before(async () => {
    t = await startTestServer();
    // The process's exit, reported as the launchers report it, through the real journal.
    supervisor = launcherlessSupervisor(t);
  });
  after(() => t?.close());

  async function startingRun(): Promise<{ run: Ref; key: string }> {
    const run = await insertRun(t, { stage: 'SFT', status: 'STARTING' });
    // Started just now: the API's own sweep leaves it alone.
    await t.server.ds.query('UPDATE runs SET started_at = now() WHERE id = $1', [run.pk]);
    const { key } = await t.server.services.apiKeys.create({
      name: `runner-${run.pk}`,
      scopes: [ApiKeyScope.RUNNER],
      runId: Number(run.pk),
    });
    return { run, key };
  }

  async function report(run: Ref, key: string, seq: number, status: string) {
    const res = await fetch(`${t.url}/v1/runs/${run.id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          {
            seq,
            type: 'STATUS',
            payload: { status, ...(status === 'FAILED' ? { message: 'boom' } : {}) },
          },
        ],
      }),
    });
    const body = (await res.json()) as { ignored: number[]; stored: number; runStatus: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  }

  /** Plays the reports, then the exit; returns what each got and the run's log. */
  async function play(order: Report[]) {
    const { run, key } = await startingRun();
    const ignored: Report[] = [];
    const seqOf = new Map<Report, number>();
    let cancelRefused = false;
    for (const r of order) {
      if (r === 'CANCEL') {
        const res = await t.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, {
          id: run.id,
        });
        const code = res.errors?.[0]?.extensions?.code;
        if (code !== undefined) assert.equal(code, 'CONFLICT', JSON.stringify(res.errors));
        cancelRefused = code === 'CONFLICT';
        continue;
      }
      const seq = seqOf.size + 1;
      seqOf.set(r, seq);
      const answer = await report(run, key, seq, r);
      if (answer.ignored.includes(seq)) ignored.push(r);
      else assert.equal(answer.stored, 1, `${r}: ${JSON.stringify(answer)}`);
    }
    await supervisor.onExit(Number(run.pk), { state: 'EXITED', exitCode: 0, signal: null });
    const { data } = await t.gql<{ run: { status: string; eventsComplete: boolean } }>(
      `query($id: ID!) { run(id: $id) { status eventsComplete } }`,
      { id: run.id },
    );
    return { ignored, cancelRefused, seqOf, run: data!.run, events: await runEvents(t, run.id) };
  }

  const cases = arrangements(REPORTS);

  it("PROTOCOL.md's status table is the one the API moves runs by", () => {
    const all = Object.values(RunStatus);
    assert.deepEqual(Object.keys(LEGAL).sort(), [...all].sort());
    for (const from of all) {
      for (const to of all) {
        assert.equal(LEGAL[from].includes(to), canMove(from, to), `${from} -> ${to}`);
      }
    }
  });

  it('covers every ordering of every subset of the reports (65 orders)', () => {
    assert.equal(cases.length, 65);
  });

  for (const order of cases) {
    const name = [...order, 'exit'].join(' -> ');
    it(`${name}: every move is legal, late reports are ignored, the outcome is right`, async () => {
      const got = await play(order);
      const want = expectations(order);
      const statuses = ['STARTING', ...statusesOf(got.events)];
      for (let i = 1; i < statuses.length; i += 1) {
        assert.ok(
          LEGAL[statuses[i - 1]].includes(statuses[i]),
          `illegal move ${statuses[i - 1]} -> ${statuses[i]} in ${statuses.join(', ')}`,
        );
      }
      assert.equal(got.run.status, want.final, statuses.join(', '));
      assert.equal(statuses.at(-1), want.final, 'the last STATUS event is the run status');
      assert.deepEqual(got.ignored, want.ignored, 'the reports answered as ignored');
      assert.equal(got.cancelRefused, want.cancelRefused, 'cancelRun refused only once ended');
      // An ignored report is not stored; an applied one is, under its runner seq.
      const storedSeqs = got.events
        .filter((e: EventView) => e.type === 'STATUS' && e.runnerSeq !== null)
        .map((e) => e.runnerSeq);
      const appliedSeqs = [...got.seqOf]
        .filter(([r]) => !want.ignored.includes(r))
        .map(([, seq]) => seq);
      assert.deepEqual(storedSeqs, appliedSeqs);
      assert.equal(got.run.eventsComplete, true, 'the exit closed the log');
    });
  }

  it('reports sent all at once (the row lock picks an order) still make only legal moves', async () => {
    for (let round = 0; round < 10; round += 1) {
      const { run, key } = await startingRun();
      const answers = await Promise.all([
        report(run, key, 1, 'RUNNING'),
        t.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: run.id }),
        report(run, key, 2, 'SUCCEEDED'),
        report(run, key, 3, 'FAILED'),
      ]);
      await supervisor.onExit(Number(run.pk), { state: 'EXITED', exitCode: 0, signal: null });
      const events = await runEvents(t, run.id);
      const statuses = ['STARTING', ...statusesOf(events)];
      for (let i = 1; i < statuses.length; i += 1) {
        assert.ok(
          LEGAL[statuses[i - 1]].includes(statuses[i]),
          `illegal move ${statuses[i - 1]} -> ${statuses[i]} in ${statuses.join(', ')}`,
        );
      }
      assert.ok(['SUCCEEDED', 'FAILED'].includes(statuses.at(-1)!), statuses.join(', '));
      // Exactly one outcome applied; the other was ignored, and only applied ones are stored.
      const runnerAnswers = [answers[0], answers[2], answers[3]];
      const ignored = runnerAnswers.flatMap((a) => a.ignored).sort();
      const stored = events.filter((e) => e.runnerSeq !== null).map((e) => e.runnerSeq);
      assert.deepEqual(
        [...stored, ...ignored].sort(),
        [1, 2, 3],
        'each report stored or ignored, never both',
      );
      assert.ok(ignored.includes(2) !== ignored.includes(3), 'one outcome wins');
    }
  });

  it('a STATUS report of a status a runner may not report is BAD_USER_INPUT, nothing stored', async () => {
    const { run, key } = await startingRun();
    const res = await fetch(`${t.url}/v1/runs/${run.id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { seq: 1, type: 'LOG', payload: { stream: 'runner', line: 'before' } },
          { seq: 2, type: 'STATUS', payload: { status: 'CANCELLED' } },
        ],
      }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.code, 'BAD_USER_INPUT');
    assert.match(body.error.message, /events\.1\.payload\.status/);
    assert.deepEqual(await runEvents(t, run.id), []);
  });
});
