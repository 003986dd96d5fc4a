/**
 * Benchmark: delivery of runEvents to many graphql-ws subscribers of one run (issue 12, P5).
 * Each event is stored (INSERT, committed), timed, then announced, the path a runner's report
 * takes; latency runs from the commit to the moment a subscriber's socket hands the event over.
 * The subscribers live in a child process (bench/subscription-clients.ts), so the server's
 * process does only the server's work.
 *
 *   node dist/bench/subscription-latency.js [--subscribers 1000] [--events 50] [--interval-ms 500]
 *     [--burst-events 250] [--burst-interval-ms 20]
 *
 * Two phases on one run, after a warm-up event that every stream must have received: `--events`
 * events `--interval-ms` apart (latency), then `--burst-events` events `--burst-interval-ms`
 * apart (sustained deliveries per second). Events are sent on a fixed schedule (the k-th at
 * start + k × interval), so a slow server is not given extra time between events. Then the run
 * ends and every stream must hold every seq once, in order, and complete.
 *
 * PostgreSQL: TEST_DATABASE_URL (an admin URL; a database is created and dropped), otherwise a
 * throwaway embedded server. REDIS_URL set: announcements over Redis instead of NOTIFY.
 */
import 'reflect-metadata';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer } from '../tests/helpers/test-server';
import { insertRun } from '../tests/helpers/seed';
import { appendEvents, finishRun } from '../tests/helpers/live';
import { benchDatabase } from './bench-database';
import type { ReportMessage, ResultMessage, StartMessage } from './subscription-clients';

interface Args {
  subscribers: number;
  events: number;
  intervalMs: number;
  burstEvents: number;
  burstIntervalMs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    subscribers: 1000,
    events: 50,
    intervalMs: 500,
    burstEvents: 250,
    burstIntervalMs: 20,
  };
  const names: Record<string, keyof Args> = {
    '--subscribers': 'subscribers',
    '--events': 'events',
    '--interval-ms': 'intervalMs',
    '--burst-events': 'burstEvents',
    '--burst-interval-ms': 'burstIntervalMs',
  };
  for (let k = 0; k < argv.length; k += 2) {
    const name = names[argv[k]];
    const value = Number(argv[k + 1]);
    if (!name || !Number.isInteger(value) || value < 1) {
      throw new Error(
        'usage: subscription-latency [--subscribers N] [--events N] [--interval-ms MS] ' +
          `[--burst-events N] [--burst-interval-ms MS] (got ${argv[k]})`,
      );
    }
    args[name] = value;
  }
  return args;
}

/** Epoch milliseconds, as precise as performance.now(): comparable with the child's. */
const now = () => performance.timeOrigin + performance.now();

/** The next IPC message of this type from the child; rejects if the child exits first. */
function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  const message = new Promise<T>((resolve, reject) => {
    const onMessage = (m: T) => {
      if (m.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(m);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the subscribers' process exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  // Awaited later; until then an exit after another failure must not crash the process.
  message.catch(() => undefined);
  return message;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stopPg = await benchDatabase();
  const t = await startTestServer({
    // The run is a stored RUNNING one with no runner: without this the supervisor would fail it
    // for lack of heartbeats while 1,000 subscribers connect on a busy machine.
    HEARTBEAT_TIMEOUT_SECONDS: '3600',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  const child = fork(path.join(__dirname, 'subscription-clients.js'), { stdio: 'inherit' });
  const exited = once(child, 'exit');
  try {
    const run = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const connected = nextMessage(child, 'connected');
    child.send({
      type: 'start',
      url: t.url,
      key: t.keys.read,
      runId: run.id,
      subscribers: args.subscribers,
      firstSeq: 1,
    } satisfies StartMessage);
    await connected;
    // Warm-up: once every stream has event 1, every subscription is live.
    const arrived = nextMessage(child, 'arrived');
    await appendEvents(t, run, [1]);
    await arrived;

    const committedAt: Record<number, number> = {};
    const phases: ReportMessage['phases'] = {};
    let seq = 2;
    const pace = async (name: string, events: number, intervalMs: number) => {
      const from = seq;
      const started = performance.now();
      for (let k = 0; k < events; k += 1) {
        const due = started + k * intervalMs - performance.now();
        if (due > 0) await sleep(due);
        // Stored first, timed at the commit, then announced: what the runner endpoint does.
        await t.server.ds.query(
          `INSERT INTO run_events (run_id, seq, type, payload) VALUES ($1, $2, 'METRIC', $3)`,
          [run.pk, seq, JSON.stringify({ loss: 1 / seq })],
        );
        committedAt[seq] = now();
        await t.server.announcer.runEvents(Number(run.pk), seq);
        seq += 1;
      }
      phases[name] = { from, to: seq - 1 };
    };
    await pace('paced', args.events, args.intervalMs);
    await sleep(args.intervalMs); // the first phase's last event is out before the burst
    await pace('burst', args.burstEvents, args.burstIntervalMs);
    await finishRun(t, run, seq, 'SUCCEEDED');

    const result = nextMessage<ResultMessage>(child, 'result');
    child.send({ type: 'report', committedAt, phases, lastSeq: seq } satisfies ReportMessage);
    const { phases: measured, exact, completed, errors } = await result;
    const { paced, burst } = measured;
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      [
        `subscribers            ${args.subscribers} (graphql-ws, one connection each, in a child process)`,
        `back-end               ${process.env.REDIS_URL ? 'Redis pub/sub' : 'Postgres LISTEN/NOTIFY'}`,
        `paced                  ${args.events} events ${args.intervalMs} ms apart: ${paced.deliveries} of ${args.subscribers * args.events} delivered`,
        `  latency p50/p99/max  ${ms(paced.p50)} / ${ms(paced.p99)} / ${ms(paced.max)}`,
        `burst                  ${args.burstEvents} events ${args.burstIntervalMs} ms apart: ${burst.deliveries} of ${args.subscribers * args.burstEvents} delivered, ${Math.round(burst.perSecond)}/s`,
        `  latency p50/p99/max  ${ms(burst.p50)} / ${ms(burst.p99)} / ${ms(burst.max)}`,
        `streams completed      ${completed} of ${args.subscribers}${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
        `every stream exact     ${exact ? 'yes (all seqs, in order, once)' : 'NO'}`,
        `subscriptions: p99 ${Math.round(paced.p99)} ms at ${args.subscribers} subscribers ` +
          `(${args.intervalMs} ms pacing), ${Math.round(burst.perSecond)} deliveries/s at ` +
          `${args.burstIntervalMs} ms pacing, exact ${exact ? 'yes' : 'no'}`,
      ].join('\n'),
    );
    if (!exact) process.exitCode = 1;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
    await t.close();
    await stopPg();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
