/**
 * Benchmark: delivery of runEvents to many graphql-ws subscribers of one run (issue 12, P5).
 * Each event is stored (INSERT, committed), timed, then announced, the path a runner's report
 * takes; latency runs from the commit to the moment a subscriber's socket hands the event over.
 * The subscribers live in a child process (bench/subscription-clients.ts), so the server's
 * process does only the server's work; that process runs with the API's Node flags, as
 * `npm start` runs the server (with-server-flags.ts).
 *
 *   node dist/bench/subscription-latency.js [--subscribers 1000] [--events 50] [--interval-ms 500]
 *     [--burst-events 250] [--burst-interval-ms 20] [--client-processes 1] [--warmup-events 5]
 *     [--trace]
 *
 * Two phases on one run, after a first event that every stream must have received and
 * `--warmup-events` events `--interval-ms` apart (reported apart, not counted in the figures: a
 * server's first fan-outs after 1,000 subscribes run code V8 has not optimised yet and cost
 * about three times the CPU of later ones): `--events` events `--interval-ms` apart (latency),
 * then `--burst-events` events `--burst-interval-ms` apart (sustained deliveries per second).
 * Events are sent on a fixed schedule (the k-th at start + k × interval), so a slow server is not
 * given extra time between events. Then the run ends and every stream must hold every seq once,
 * in order, and complete.
 *
 * `--client-processes N` spreads the subscribers over N child processes (one process parsing
 * 1,000 sockets' messages queues them: the 1,000th arrival waits for the 999 before it).
 * `--trace` also prints where the paced phase's time goes, stage by stage (subscription-trace.ts).
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
import { installTrace, type Trace } from './subscription-trace';
import { reexecWithServerFlags } from './with-server-flags';

interface Args {
  subscribers: number;
  events: number;
  intervalMs: number;
  burstEvents: number;
  burstIntervalMs: number;
  clientProcesses: number;
  warmupEvents: number;
  trace: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    subscribers: 1000,
    events: 50,
    intervalMs: 500,
    burstEvents: 250,
    burstIntervalMs: 20,
    clientProcesses: 1,
    warmupEvents: 5,
    trace: false,
  };
  const names: Record<string, Exclude<keyof Args, 'trace'>> = {
    '--subscribers': 'subscribers',
    '--events': 'events',
    '--interval-ms': 'intervalMs',
    '--burst-events': 'burstEvents',
    '--burst-interval-ms': 'burstIntervalMs',
    '--client-processes': 'clientProcesses',
    '--warmup-events': 'warmupEvents',
  };
  for (let k = 0; k < argv.length; k += 2) {
    if (argv[k] === '--trace') {
      args.trace = true;
      k -= 1;
      continue;
    }
    const name = names[argv[k]];
    const value = Number(argv[k + 1]);
    if (!name || !Number.isInteger(value) || value < (name === 'warmupEvents' ? 0 : 1)) {
      throw new Error(
        'usage: subscription-latency [--subscribers N] [--events N] [--interval-ms MS] ' +
          `[--burst-events N] [--burst-interval-ms MS] [--client-processes N] ` +
          `[--warmup-events N] [--trace] ` +
          `(got ${argv[k]})`,
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
      child.off('disconnect', onExit);
      child.off('message', onMessage);
      resolve(m);
    };
    // Not 'exit': a large last message may still be in the channel when the process is gone;
    // the channel ends after the messages sent into it were read.
    const onExit = () =>
      reject(new Error(`the subscribers' process left (${child.exitCode}) before '${type}'`));
    child.on('message', onMessage);
    child.once('disconnect', onExit);
  });
  // Awaited later; until then an exit after another failure must not crash the process.
  message.catch(() => undefined);
  return message;
}

/** The same message from every child process. */
const fromAll = <T extends { type: string }>(children: ChildProcess[], type: T['type']) =>
  Promise.all(children.map((child) => nextMessage<T>(child, type)));

interface PhaseResult {
  deliveries: number;
  p50: number;
  p99: number;
  max: number;
  /** Deliveries over the time from the phase's first commit to its last delivery. */
  perSecond: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

function phaseResult(
  arrivals: Map<number, number[]>,
  committedAt: Record<number, number>,
  { from, to }: { from: number; to: number },
): PhaseResult {
  const latencies: number[] = [];
  let lastArrival = 0;
  for (let seq = from; seq <= to; seq += 1) {
    const at = committedAt[seq];
    for (const arrived of arrivals.get(seq) ?? []) {
      latencies.push(arrived - at);
      lastArrival = Math.max(lastArrival, arrived);
    }
  }
  latencies.sort((x, y) => x - y);
  return {
    deliveries: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    perSecond: latencies.length / ((lastArrival - committedAt[from]) / 1000),
  };
}

/**
 * The phase's `count` events with the latest median arrival: "#k m/l" is the phase's k-th event
 * (from 1), its median and its last arrival in ms after its commit. With 1,000 deliveries per
 * event, the p99 of 50 events is the 500th latest delivery: one or two slow events set it.
 */
function slowest(
  arrivals: Map<number, number[]>,
  committedAt: Record<number, number>,
  { from, to }: { from: number; to: number },
  count: number,
): string {
  const events: { k: number; median: number; last: number }[] = [];
  for (let seq = from; seq <= to; seq += 1) {
    const times = [...(arrivals.get(seq) ?? [])].sort((x, y) => x - y);
    events.push({
      k: seq - from + 1,
      median: percentile(times, 50) - committedAt[seq],
      last: (times[times.length - 1] ?? NaN) - committedAt[seq],
    });
  }
  return events
    .sort((x, y) => y.median - x.median)
    .slice(0, count)
    .map((e) => `#${e.k} ${e.median.toFixed(0)}/${e.last.toFixed(0)} ms`)
    .join(', ');
}

/** The process's CPU from the hub's read to the last write, per event: median user + system. */
function fanOutCpu(trace: Trace, { from, to }: { from: number; to: number }): string {
  const cpus: NodeJS.CpuUsage[] = [];
  for (let seq = from; seq <= to; seq += 1) {
    const cpu = trace.marks.get(seq)?.fanOutCpu;
    if (cpu) cpus.push(cpu);
  }
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((x, y) => x - y),
      50,
    ) / 1000;
  return (
    `${median(cpus.map((c) => c.user)).toFixed(1)} user + ` +
    `${median(cpus.map((c) => c.system)).toFixed(1)} system (median)`
  );
}

/**
 * Per stage, the median and the maximum over the phase's seqs of the time from the commit to the
 * stage: the server's stages from the trace, the clients' from their arrival times.
 */
function breakdown(
  trace: Trace,
  announcedAt: Record<number, number>,
  arrivals: Map<number, number[]>,
  committedAt: Record<number, number>,
  { from, to }: { from: number; to: number },
): string[] {
  const stages: [string, (seq: number) => number | undefined][] = [
    ['NOTIFY sent (pg_notify returned)', (seq) => announcedAt[seq]],
    ['NOTIFY heard by the listener', (seq) => trace.marks.get(seq)?.heard],
    ["hub's read returned", (seq) => trace.marks.get(seq)?.read],
    ['first subscriber send', (seq) => trace.marks.get(seq)?.firstSend],
    ['last subscriber send', (seq) => trace.marks.get(seq)?.lastSend],
    ['last writev (uncork) done', (seq) => trace.marks.get(seq)?.lastWrite],
    ['first arrival at a client', (seq) => Math.min(...(arrivals.get(seq) ?? []))],
    [
      'median arrival',
      (seq) =>
        percentile(
          [...(arrivals.get(seq) ?? [])].sort((x, y) => x - y),
          50,
        ),
    ],
    ['last arrival', (seq) => Math.max(...(arrivals.get(seq) ?? []))],
  ];
  const lines = ['stage (paced phase, ms after the commit)    median    max'];
  for (const [name, at] of stages) {
    const offsets: number[] = [];
    for (let seq = from; seq <= to; seq += 1) {
      const t = at(seq);
      if (t !== undefined && Number.isFinite(t)) offsets.push(t - committedAt[seq]);
    }
    offsets.sort((x, y) => x - y);
    lines.push(
      `  ${name.padEnd(40)} ${percentile(offsets, 50).toFixed(1).padStart(7)} ${(offsets[offsets.length - 1] ?? NaN).toFixed(1).padStart(7)}`,
    );
  }
  lines.push(`  server CPU, read to last write, ms/event ${fanOutCpu(trace, { from, to })}`);
  const sends = [...trace.marks.values()].map((m) => m.sends);
  lines.push(
    `  sends per seq                            ${Math.min(...sends)}..${Math.max(...sends)}`,
  );
  return lines;
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
  const children = Array.from({ length: args.clientProcesses }, () =>
    fork(path.join(__dirname, 'subscription-clients.js'), { stdio: 'inherit' }),
  );
  const exited = children.map((child) => once(child, 'exit'));
  let trace: Trace | undefined;
  try {
    const run = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const connected = fromAll(children, 'connected');
    children.forEach((child, k) => {
      // The subscribers, dealt out as evenly as they go.
      const share =
        Math.floor(args.subscribers / children.length) +
        (k < args.subscribers % children.length ? 1 : 0);
      child.send({
        type: 'start',
        url: t.url,
        key: t.keys.read,
        runId: run.id,
        subscribers: share,
        firstSeq: 1,
      } satisfies StartMessage);
    });
    await connected;
    // Warm-up: once every stream has event 1, every subscription is live.
    const arrived = fromAll(children, 'arrived');
    await appendEvents(t, run, [1]);
    await arrived;
    if (args.trace) trace = installTrace(t.server.announcer, Number(run.pk));

    const committedAt: Record<number, number> = {};
    const announcedAt: Record<number, number> = {};
    const phases: Record<string, { from: number; to: number }> = {};
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
        announcedAt[seq] = now();
        seq += 1;
      }
      phases[name] = { from, to: seq - 1 };
    };
    if (args.warmupEvents > 0) {
      await pace('warmup', args.warmupEvents, args.intervalMs);
      await sleep(args.intervalMs);
    }
    // The server's CPU over the paced phase (this process: the API and the event writes), per
    // delivery: unlike latency, it hardly moves with what else runs on the machine.
    const cpuBefore = process.cpuUsage();
    await pace('paced', args.events, args.intervalMs);
    await sleep(args.intervalMs); // the first phase's last event is out before the burst
    const cpu = process.cpuUsage(cpuBefore);
    await pace('burst', args.burstEvents, args.burstIntervalMs);
    await finishRun(t, run, seq, 'SUCCEEDED');

    const results = fromAll<ResultMessage>(children, 'result');
    for (const child of children) {
      child.send({ type: 'report', lastSeq: seq } satisfies ReportMessage);
    }
    const arrivals = new Map<number, number[]>();
    let exact = true;
    let completed = 0;
    const errors: string[] = [];
    for (const result of await results) {
      for (const [s, times] of result.arrivals) {
        const all = arrivals.get(s);
        if (all) all.push(...times);
        else arrivals.set(s, times);
      }
      exact &&= result.exact;
      completed += result.completed;
      errors.push(...result.errors);
    }
    const paced = phaseResult(arrivals, committedAt, phases.paced);
    const burst = phaseResult(arrivals, committedAt, phases.burst);
    const warmup = phases.warmup && phaseResult(arrivals, committedAt, phases.warmup);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      [
        `subscribers            ${args.subscribers} (graphql-ws, one connection each, in ${args.clientProcesses} child process${args.clientProcesses > 1 ? 'es' : ''})`,
        `back-end               ${process.env.REDIS_URL ? 'Redis pub/sub' : 'Postgres LISTEN/NOTIFY'}`,
        ...(trace ? breakdown(trace, announcedAt, arrivals, committedAt, phases.paced) : []),
        ...(warmup
          ? [
              `warm-up                ${args.warmupEvents} events ${args.intervalMs} ms apart, not counted below: p50/p99/max ${ms(warmup.p50)} / ${ms(warmup.p99)} / ${ms(warmup.max)}`,
              ...(trace
                ? [`  server CPU, read to last write, ms/event ${fanOutCpu(trace, phases.warmup)}`]
                : []),
            ]
          : []),
        `paced                  ${args.events} events ${args.intervalMs} ms apart: ${paced.deliveries} of ${args.subscribers * args.events} delivered`,
        `  latency p50/p99/max  ${ms(paced.p50)} / ${ms(paced.p99)} / ${ms(paced.max)}`,
        `  slowest events       ${slowest(arrivals, committedAt, phases.paced, 3)}`,
        `  server CPU           ${(cpu.user / paced.deliveries).toFixed(1)} µs user + ${(cpu.system / paced.deliveries).toFixed(1)} µs system per delivery`,
        `burst                  ${args.burstEvents} events ${args.burstIntervalMs} ms apart: ${burst.deliveries} of ${args.subscribers * args.burstEvents} delivered, ${Math.round(burst.perSecond)}/s`,
        `  latency p50/p99/max  ${ms(burst.p50)} / ${ms(burst.p99)} / ${ms(burst.max)}`,
        `streams completed      ${completed} of ${args.subscribers}${errors.length ? `; errors: ${[...new Set(errors)].slice(0, 5).join('; ')}` : ''}`,
        `every stream exact     ${exact ? 'yes (all seqs, in order, once)' : 'NO'}`,
        `subscriptions: p99 ${Math.round(paced.p99)} ms at ${args.subscribers} subscribers ` +
          `(${args.intervalMs} ms pacing), ${Math.round(burst.perSecond)} deliveries/s at ` +
          `${args.burstIntervalMs} ms pacing, exact ${exact ? 'yes' : 'no'}`,
      ].join('\n'),
    );
    if (!exact) process.exitCode = 1;
  } finally {
    trace?.stop();
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
    await Promise.all(exited);
    await t.close();
    await stopPg();
  }
}

if (!reexecWithServerFlags()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
