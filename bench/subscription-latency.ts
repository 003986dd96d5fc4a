/**
 * Benchmark: delivery latency of runEvents to many concurrent graphql-ws subscribers of one run.
 * Each event is stored (INSERT, committed) and then announced, the path a runner's report takes;
 * latency is from the commit to the moment each subscriber's client hands the event over.
 *
 *   node dist/bench/subscription-latency.js [--subscribers 100] [--events 200] [--interval-ms 20]
 *
 * PostgreSQL: TEST_DATABASE_URL (an admin URL; a database is created and dropped), otherwise a
 * throwaway embedded server. REDIS_URL set: announcements over Redis instead of NOTIFY. Server
 * and clients share this process (and its CPU), as in the tests; events are paced so the number
 * is delivery latency, not the backlog of a burst.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer } from '../tests/helpers/test-server';
import { insertRun } from '../tests/helpers/seed';
import { appendEvents, collect, finishRun, range, wsClient } from '../tests/helpers/live';
import { benchDatabase } from './bench-database';

interface Args {
  subscribers: number;
  events: number;
  intervalMs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { subscribers: 100, events: 200, intervalMs: 20 };
  const names: Record<string, keyof Args> = {
    '--subscribers': 'subscribers',
    '--events': 'events',
    '--interval-ms': 'intervalMs',
  };
  for (let k = 0; k < argv.length; k += 2) {
    const name = names[argv[k]];
    const value = Number(argv[k + 1]);
    if (!name || !Number.isInteger(value) || value < 0) {
      throw new Error(
        `usage: subscription-latency [--subscribers N] [--events N] [--interval-ms MS] (got ${argv[k]})`,
      );
    }
    args[name] = value;
  }
  return args;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stopPg = await benchDatabase();
  const t = await startTestServer(
    process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {},
  );
  try {
    const run = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const storedAt = new Map<number, number>();
    const latencies: number[] = [];
    const clients = range(1, args.subscribers).map(() => wsClient(t.url, t.keys.read));
    const subs = clients.map((client) => {
      const sub = collect<{ seq: number }>(
        {
          subscribe: (payload, sink) =>
            client.subscribe(payload, {
              ...sink,
              next: (v: { data?: { runEvents?: { seq: number } } }) => {
                const seq = v.data?.runEvents?.seq;
                const at = seq === undefined ? undefined : storedAt.get(seq);
                if (at !== undefined) latencies.push(performance.now() - at);
                sink.next(v);
              },
            }),
        },
        'runEvents',
        'subscription($runId: ID!) { runEvents(runId: $runId) { seq type payload at } }',
        { runId: run.id },
      );
      return sub;
    });
    // Warm-up event: once every subscriber has it, every subscription is live.
    await appendEvents(t, run, [1]);
    await Promise.all(subs.map((s) => s.until((items) => items.length >= 1, 60_000)));

    const last = args.events + 1;
    const started = performance.now();
    for (let seq = 2; seq <= last; seq += 1) {
      // Stored first, timed at the commit, then announced: what the runner endpoint does.
      await t.server.ds.query(
        `INSERT INTO run_events (run_id, seq, type, payload) VALUES ($1, $2, 'METRIC', $3)`,
        [run.pk, seq, JSON.stringify({ loss: 1 / seq })],
      );
      storedAt.set(seq, performance.now());
      await t.server.announcer.runEvents(Number(run.pk), seq);
      if (args.intervalMs) await sleep(args.intervalMs);
    }
    await finishRun(t, run, last + 1, 'SUCCEEDED');
    await Promise.all(subs.map((s) => s.done));
    const elapsed = (performance.now() - started) / 1000;
    for (const c of clients) await c.dispose();

    const exact = subs.every(
      (s) => s.items.length === last + 1 && s.items.every((e, k) => e.seq === k + 1),
    );
    latencies.sort((x, y) => x - y);
    const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
    console.log(
      [
        `subscribers            ${args.subscribers} (graphql-ws, one connection each)`,
        `events                 ${args.events} (one every ${args.intervalMs} ms), ${elapsed.toFixed(1)} s`,
        `back-end               ${process.env.REDIS_URL ? 'Redis pub/sub' : 'Postgres LISTEN/NOTIFY'}`,
        `deliveries             ${latencies.length} of ${args.subscribers * args.events}`,
        `every stream exact     ${exact ? 'yes (all seqs, in order, once)' : 'NO'}`,
        `latency p50            ${fmt(percentile(latencies, 50))}`,
        `latency p99            ${fmt(percentile(latencies, 99))}`,
        `latency max            ${fmt(latencies[latencies.length - 1])}`,
      ].join('\n'),
    );
    if (!exact) process.exitCode = 1;
  } finally {
    await t.close();
    await stopPg();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
