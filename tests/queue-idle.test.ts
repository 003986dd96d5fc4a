/**
 * An idle API process costs the database little: each job queue (one per launcher, and the
 * webhooks') is polled at most once a second, and nothing else polls faster than the run
 * supervisor's sweep. Counted over every connection of the process, the job queue's included.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './helpers/test-server';
import { censusOf } from './helpers/sql-census';

/** Long beside the 1 s polling interval, so the count hardly depends on where the window falls. */
const WINDOW_S = 6;
/** The run supervisor's sweep: every 5 s, three statements when there is nothing to do. */
const SWEEPS_IN_WINDOW = Math.ceil(WINDOW_S / 5);
const STATEMENTS_PER_SWEEP = 3;

describe('an idle server', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    // Start-up work (migrations, queue creation, the webhooks' catch-up) is over by now.
    await sleep(1_000);
  });
  after(() => t.close());

  it('polls each job queue at most once a second', async (ctx) => {
    const [{ queues }] = await t.server.ds.query<{ queues: number }[]>(
      // pg-boss's own (__pgboss__…) are not ours: its cron queue exists only with schedules on.
      `SELECT count(*)::int AS queues FROM pgboss.queue WHERE name NOT LIKE '\\_\\_%'`,
    );
    assert.equal(queues, 4, 'runs-local, runs-slurm, runs-kubernetes and webhooks');
    const database = new URL((t.server.ds.options as { url: string }).url).pathname.slice(1);
    const census = censusOf(database);
    await sleep(WINDOW_S * 1_000);
    census.stop();
    ctx.diagnostic(`${census.count} statements in ${WINDOW_S} s of idling, ${queues} queues`);
    // One poll per queue per second, one more per queue for where the window cuts the cycle.
    const budget = queues * (WINDOW_S + 1) + SWEEPS_IN_WINDOW * STATEMENTS_PER_SWEEP;
    assert.ok(
      census.count <= budget,
      `${census.count} statements in ${WINDOW_S} s of idling (budget ${budget})`,
    );
    // The census does see the queues (a loaded machine may stretch their interval, hence half).
    assert.ok(census.count >= (queues * WINDOW_S) / 2, `the queues do poll (${census.count})`);
  });
});
